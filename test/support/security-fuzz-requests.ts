import { create, type Message } from "@bufbuild/protobuf";
import { CostBudgetSchema } from "../../gen/dreamnet/cost/v1/budget_pb.js";
import {
  AcknowledgeAlertRequestSchema,
  DeleteBudgetRequestSchema,
  ExportCostsRequestSchema,
  GetBudgetRequestSchema,
  GetBudgetStatusRequestSchema,
  GetCostBreakdownRequestSchema,
  GetCostSeriesRequestSchema,
  GetCostSummaryRequestSchema,
  ListAlertsRequestSchema,
  ListAuditEventsRequestSchema,
  ListBudgetsRequestSchema,
  ListCostSummariesRequestSchema,
  RecordCostRequestSchema,
  RecordCostsRequestSchema,
  SetBudgetRequestSchema,
  WatchAlertsRequestSchema,
} from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { MoneySchema } from "../../gen/dreamnet/cost/v1/money_pb.js";
import { CLUSTER_IDS, CURRENCIES, INT32_MAX, INT32_MIN, NANOS, UNITS, boundaryTimestamps, fuzzRecord, oddText, timestampAt } from "./security-fuzz-inputs.js";
import type { RpcName } from "./security-rpcs.js";
import type { SeededRandom } from "./seeded-random.js";

/**
 * Request messages for the fuzz suite, one RPC at a time: page sizes and tokens,
 * enum values, ranges, ids and notes at and past their limits. Every value comes
 * from the seeded generator, so a run replays the same requests.
 */

/** What a request may refer to. */
export interface RequestContext {
  /** The server's clock. */
  readonly nowMs: number;
  /** Alerts that exist, for AcknowledgeAlert. */
  readonly alertIds: readonly string[];
  /** Unique per request: ids built on it do not collide. */
  readonly tag: string;
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");

/** Page tokens: empty, foreign, and well-formed ones holding odd positions. */
function pageToken(rng: SeededRandom): string {
  return rng.pick([
    "",
    "",
    "not-a-token",
    oddText(rng, "tok"),
    b64({ a: "FZ_A" }),
    b64({ a: 5 }),
    b64(null),
    b64({ a: "99999999999999999999999:x" }),
    b64({ a: "123:abc" }),
    b64({ a: "-1" }),
    b64({ a: "1e3" }),
    b64({ a: "9999999999999999" }),
    b64({ a: "\u0000" }),
  ]);
}

const pageSize = (rng: SeededRandom): number => rng.pick([0, 0, 1, 2, 100, 500, 501, -1, INT32_MAX, INT32_MIN]);
const clusterOrEmpty = (rng: SeededRandom): string => (rng.chance(0.4) ? "" : rng.pick(CLUSTER_IDS));
const enumValue = (rng: SeededRandom, known: number): number => rng.pick([0, ...Array.from({ length: known }, (_, i) => i + 1), 99, -1, INT32_MAX]);
const TIME_ZONES = ["", "UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Not/AZone", "../../etc", "\u0000", "+05:00", "Etc/GMT+14", "x".repeat(10_000)];

/** A range: usually narrow near now, sometimes unset or at the edges. */
function range(rng: SeededRandom, nowMs: number): { startTime?: ReturnType<typeof timestampAt>; endTime?: ReturnType<typeof timestampAt> } {
  const roll = rng.int(0, 9);
  if (roll < 2) return {};
  if (roll < 7) {
    const start = nowMs - rng.int(0, 40 * 86_400_000);
    return { startTime: timestampAt(start), endTime: timestampAt(start + rng.pick([60_000, 3_600_000, 86_400_000])) };
  }
  const edges = boundaryTimestamps(nowMs);
  const startTime = rng.pick(edges);
  const endTime = rng.pick(edges);
  return { ...(startTime ? { startTime } : {}), ...(endTime ? { endTime } : {}) };
}

/** Budget ids the fuzz sets, reads and deletes, so calls meet existing budgets. */
export const BUDGET_IDS = Array.from({ length: 12 }, (_, i) => `fz-budget-${i}`);
const RESUME_CURSORS = ["", "", "0", "1", "5", "999999999", "-1", "abc", "1e3", "9".repeat(16), "\u{1F600}"];

/** A request message of an RPC other than the two ingest ones, with odd and boundary values in its fields. */
export function otherRequest(rpc: RpcName, rng: SeededRandom, context: RequestContext): Message {
  const { nowMs, alertIds, tag } = context;
  const id = (): string => (rng.chance(0.6) ? rng.pick(BUDGET_IDS) : oddText(rng, `fzb-${tag}`));
  switch (rpc) {
    case "GetCostSummary":
      return create(GetCostSummaryRequestSchema, { clusterId: rng.pick(CLUSTER_IDS) });
    case "ListCostSummaries":
      return create(ListCostSummariesRequestSchema, { pageSize: pageSize(rng), pageToken: pageToken(rng) });
    case "GetCostBreakdown":
      return create(GetCostBreakdownRequestSchema, { clusterId: clusterOrEmpty(rng), dimension: enumValue(rng, 4), ...range(rng, nowMs) });
    case "GetCostSeries":
      return create(GetCostSeriesRequestSchema, {
        clusterId: clusterOrEmpty(rng),
        granularity: enumValue(rng, 2),
        splitBy: enumValue(rng, 4),
        timeZone: rng.pick(TIME_ZONES),
        ...range(rng, nowMs),
      });
    case "ExportCosts":
      return create(ExportCostsRequestSchema, { clusterId: clusterOrEmpty(rng), pageSize: rng.pick([0, 1_000, 5_000, 5_001, -1, 7]), ...range(rng, nowMs) });
    case "SetBudget":
      return create(SetBudgetRequestSchema, {
        budget: rng.chance(0.05)
          ? undefined
          : create(CostBudgetSchema, {
              id: id(),
              clusterId: rng.pick(CLUSTER_IDS),
              amount: rng.chance(0.05)
                ? undefined
                : create(MoneySchema, {
                    currencyCode: rng.pick(CURRENCIES),
                    units: rng.chance(0.5) ? BigInt(rng.int(1, 50)) : rng.pick(UNITS),
                    nanos: rng.chance(0.5) ? 0 : rng.pick(NANOS),
                  }),
              period: rng.chance(0.7) ? rng.int(1, 3) : enumValue(rng, 3),
              alertThresholds: rng.pick([[], [50], [50, 80], [0], [101], [50, 50], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [100], [-5], [INT32_MAX]]),
              ...(rng.chance(0.3) ? { enabled: rng.chance(0.5) } : {}),
              timeZone: rng.pick(TIME_ZONES),
            }),
      });
    case "GetBudget":
      return create(GetBudgetRequestSchema, { budgetId: id() });
    case "DeleteBudget":
      return create(DeleteBudgetRequestSchema, { budgetId: id() });
    case "GetBudgetStatus":
      return create(GetBudgetStatusRequestSchema, { budgetId: id() });
    case "ListBudgets":
      return create(ListBudgetsRequestSchema, { clusterId: clusterOrEmpty(rng), pageSize: pageSize(rng), pageToken: pageToken(rng) });
    case "ListAlerts":
      return create(ListAlertsRequestSchema, { clusterId: clusterOrEmpty(rng), state: enumValue(rng, 3), pageSize: pageSize(rng), pageToken: pageToken(rng), ...range(rng, nowMs) });
    case "AcknowledgeAlert":
      return create(AcknowledgeAlertRequestSchema, {
        alertId: rng.chance(0.5) && alertIds.length > 0 ? rng.pick(alertIds) : oddText(rng, `alert-${tag}`),
        note: rng.chance(0.5) ? "" : rng.pick([oddText(rng, "note"), "n".repeat(1_024), "n".repeat(1_025)]),
      });
    case "WatchAlerts":
      return create(WatchAlertsRequestSchema, { clusterId: clusterOrEmpty(rng), resumeAfter: rng.pick(RESUME_CURSORS), includeActive: rng.chance(0.6) });
    case "ListAuditEvents":
      return create(ListAuditEventsRequestSchema, {
        actor: rng.pick(["", "", "admin", "anonymous", oddText(rng, "actor")]),
        resourceType: rng.pick(["", "", "budget", "alert", "api_key", "widget", oddText(rng, "rt")]),
        resourceId: rng.pick(["", "", ...BUDGET_IDS.slice(0, 3), oddText(rng, "rid")]),
        clusterId: clusterOrEmpty(rng),
        pageSize: pageSize(rng),
        pageToken: pageToken(rng),
        ...range(rng, nowMs),
      });
    case "RecordCost":
    case "RecordCosts":
      throw new Error("ingest requests are built by ingestRequests()");
  }
}

/** The request messages of an ingest call: one RecordCostRequest, or one to three RecordCostsRequests. */
export function ingestRequests(rpc: "RecordCost" | "RecordCosts", rng: SeededRandom, context: RequestContext): Message[] {
  const { nowMs, tag } = context;
  if (rpc === "RecordCost") {
    if (rng.chance(0.02)) return [create(RecordCostRequestSchema, {})];
    return [create(RecordCostRequestSchema, { record: fuzzRecord(rng, tag, nowMs).record })];
  }
  return Array.from({ length: rng.int(1, 3) }, (_, m) => {
    const count = rng.chance(0.01) ? 0 : rng.chance(0.003) ? 5_001 : rng.int(1, 30);
    const mutateChance = count > 1_000 ? 0 : 0.45;
    return create(RecordCostsRequestSchema, { records: Array.from({ length: count }, (_, i) => fuzzRecord(rng, `${tag}m${m}r${i}`, nowMs, mutateChance).record) });
  });
}
