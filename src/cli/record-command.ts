import { randomUUID } from "node:crypto";
import { create, type JsonObject } from "@bufbuild/protobuf";
import { CostRecordSchema } from "../../gen/dreamnet/cost/v1/cost_record_pb.js";
import { RecordOutcome } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { moneyToProto } from "../api/money-mapping.js";
import { timestampFromMs } from "../api/time-mapping.js";
import { parseMoneyAmount } from "../domain/money.js";
import { clientFrom, UsageError, type ClientFlags } from "./client-options.js";
import { toJsonText } from "./format.js";

/** Flags of `cost-core record`. */
export interface RecordFlags extends ClientFlags {
  readonly cluster: string;
  readonly provider: string;
  readonly operation: string;
  readonly cost: string;
  readonly currency: string;
  readonly model?: string;
  readonly id?: string;
  readonly traceId?: string;
  readonly timestamp?: string;
  readonly metadata?: string;
}

/** `cost-core record`: sends one cost through RecordCost. */
export async function recordCommand(flags: RecordFlags): Promise<void> {
  const cost = parseMoneyAmount(flags.cost, flags.currency);
  if (!cost) throw new UsageError(`--cost must be a decimal amount such as 0.002 and --currency an ISO 4217 code (got "${flags.cost}" "${flags.currency}")`);
  const timestampMs = flags.timestamp === undefined ? Date.now() : parseInstant(flags.timestamp);
  let metadata: JsonObject | undefined;
  if (flags.metadata !== undefined) {
    const parsed: unknown = JSON.parse(flags.metadata);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new UsageError("--metadata must be a JSON object");
    metadata = parsed as JsonObject;
  }
  const id = flags.id ?? randomUUID();
  const response = await clientFrom(flags).recordCost({
    record: create(CostRecordSchema, {
      id,
      clusterId: flags.cluster,
      provider: flags.provider,
      operation: flags.operation,
      model: flags.model ?? "",
      cost: moneyToProto(cost),
      timestamp: timestampFromMs(timestampMs),
      traceId: flags.traceId ?? "",
      metadata,
    }),
  });
  const outcome = response.outcome === RecordOutcome.DUPLICATE ? "duplicate" : "accepted";
  process.stdout.write(flags.json ? `${toJsonText({ id, outcome })}\n` : `${outcome}: ${id}\n`);
}

/** An instant from an ISO 8601 date-time or epoch milliseconds. */
export function parseInstant(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new UsageError(`"${text}" is not an ISO 8601 time or epoch milliseconds`);
  return ms;
}
