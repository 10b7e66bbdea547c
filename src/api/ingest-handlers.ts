import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import {
  RecordCostResponseSchema,
  RecordCostsResponseSchema,
  RecordOutcome as RecordOutcomeProto,
  RejectedRecordSchema,
  RejectionReason,
  type RecordCostRequest,
  type RecordCostResponse,
  type RecordCostsRequest,
  type RecordCostsResponse,
  type RejectedRecord,
} from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import type { CostCore } from "../core/cost-core.js";
import { ShuttingDownError } from "../core/errors.js";
import type { RecordOutcome } from "../core/ingest.js";
import type { CostRecord } from "../domain/cost-record.js";
import { RECORD_LIMITS } from "../domain/limits.js";
import { principalOf, requireCluster } from "./auth/principal.js";
import { invalidArgument } from "./field-violation.js";
import { isViolation } from "./money-mapping.js";
import { recordFromProto } from "./record-from-proto.js";

/** Rejections listed in a RecordCosts response; the count covers the rest. */
const MAX_LISTED_REJECTIONS = 100;
/**
 * Records of one stream read but not yet committed: two group-commit batches
 * (10,000 each), one committing while the next is handed to the store, so the
 * store does not wait for a lone stream. 30,000 was no faster, and records that
 * wait longer outlive the young generation: peak RSS grew with it (bench/run.ts).
 */
const MAX_RECORDS_IN_FLIGHT = 20_000;

/** RecordCost and RecordCosts: validate at the edge, hand valid records to the ingest pipeline. */
export function createIngestHandlers(core: CostCore, onRejected: (count: number) => void = () => {}) {
  return {
    async recordCost(request: RecordCostRequest, context: HandlerContext): Promise<RecordCostResponse> {
      if (!request.record) throw invalidArgument({ field: "record", description: "is required" });
      const record = recordFromProto(request.record, core.clock.now(), "record");
      if (isViolation(record)) {
        onRejected(1);
        throw invalidArgument(record);
      }
      requireCluster(principalOf(context), record.clusterId, "record.cluster_id");
      const [outcome] = await core.ingest.record([record]);
      if (!outcome) throw new Error("ingest returned no outcome");
      if (outcome.kind === "conflict") {
        throw new ConnectError(
          `record.id "${record.id}" is already stored with different content; a record id can be used for one record only`,
          Code.AlreadyExists,
        );
      }
      return create(RecordCostResponseSchema, {
        outcome: outcome.kind === "accepted" ? RecordOutcomeProto.ACCEPTED : RecordOutcomeProto.DUPLICATE,
      });
    },

    async recordCosts(requests: AsyncIterable<RecordCostsRequest>, context: HandlerContext): Promise<RecordCostsResponse> {
      const principal = principalOf(context);
      // Plain numbers while counting (a bigint increment allocates); bigints in the response.
      const tally = { accepted: 0, duplicates: 0, rejected: 0, listed: [] as RejectedRecord[] };
      const reject = (entry: Omit<RejectedRecord, "$typeName" | "$unknown">): void => {
        tally.rejected++;
        if (tally.listed.length < MAX_LISTED_REJECTIONS) tally.listed.push(create(RejectedRecordSchema, entry));
      };
      // Commits of earlier messages, oldest first, and how many records each holds.
      const inFlight: { readonly done: Promise<void>; readonly records: number }[] = [];
      const recordsInFlight = (): number => inFlight.reduce((n, commit) => n + commit.records, 0);
      const allCommitted = (): Promise<unknown> => Promise.all(inFlight.map((commit) => commit.done));
      let failure: { error: unknown } | undefined;
      let streamIndex = 0;

      for await (const message of requests) {
        if (failure) break;
        // Shutting down past the grace period: what is committed stays, the rest is refused whole.
        if (context.signal.aborted) throw new ShuttingDownError();
        const count = message.records.length;
        if (count > RECORD_LIMITS.maxRecordsPerMessage) {
          // The message says earlier messages were committed: make sure that is true first.
          await allCommitted();
          // Set by the commit callbacks above, which TypeScript's narrowing cannot see.
          const failed = failure as { error: unknown } | undefined;
          if (failed) throw failed.error;
          throw invalidArgument({
            field: "records",
            description: `has ${count} entries in one message; at most ${RECORD_LIMITS.maxRecordsPerMessage} are allowed (messages before this one were committed)`,
          });
        }
        const nowMs = core.clock.now();
        const valid: CostRecord[] = [];
        const positions: number[] = [];
        message.records.forEach((proto, i) => {
          const record = recordFromProto(proto, nowMs, "");
          if (isViolation(record)) {
            reject({
              index: BigInt(streamIndex + i),
              id: proto.id.slice(0, RECORD_LIMITS.maxIdLength),
              field: record.field,
              message: `${record.field} ${record.description}`,
              reason: RejectionReason.INVALID_ARGUMENT,
            });
          } else {
            // A key limited to some clusters fails the call at the first record outside them.
            requireCluster(principal, record.clusterId, `records[${i}].cluster_id (stream index ${streamIndex + i})`);
            valid.push(record);
            positions.push(streamIndex + i);
          }
        });
        streamIndex += count;
        // Past its own limit, or while the ingest queue is crowded (many streams at once), a
        // stream waits for its oldest commits before adding more: backpressure to the client
        // rather than a queue that refuses records. A stream with nothing in flight goes on.
        while (inFlight.length > 0 && (recordsInFlight() + valid.length > MAX_RECORDS_IN_FLIGHT || core.ingest.crowded)) {
          await inFlight.shift()?.done;
        }
        const commit = core.ingest.record(valid).then((outcomes) => {
          outcomes.forEach((outcome: RecordOutcome, i) => {
            switch (outcome.kind) {
              case "accepted":
                tally.accepted++;
                break;
              case "duplicate":
                tally.duplicates++;
                break;
              case "conflict":
                reject({
                  index: BigInt(positions[i] ?? -1),
                  id: outcome.stored.id,
                  field: "",
                  message: `id "${outcome.stored.id}" is already stored with different content`,
                  reason: RejectionReason.ID_CONFLICT,
                });
                break;
            }
          });
        });
        // Remember the first failure now so no rejection goes unhandled while reading on.
        inFlight.push({ done: commit.catch((error: unknown) => void (failure ??= { error })), records: valid.length });
      }
      await allCommitted();
      onRejected(tally.rejected);
      if (failure) throw failure.error;
      tally.listed.sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0));
      return create(RecordCostsResponseSchema, {
        acceptedCount: BigInt(tally.accepted),
        duplicateCount: BigInt(tally.duplicates),
        rejectedCount: BigInt(tally.rejected),
        rejected: tally.listed,
      });
    },
  };
}
