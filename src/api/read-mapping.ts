import { create } from "@bufbuild/protobuf";
import { CostRecordSchema, type CostRecord as CostRecordProto } from "../../gen/dreamnet/cost/v1/cost_record_pb.js";
import {
  CostBreakdownEntrySchema,
  CostDimension as CostDimensionProto,
  CostSeriesPointSchema,
  CostSummarySchema,
  CurrencyCostSummarySchema,
  type CostBreakdownEntry,
  type CostSeriesPoint,
  type CostSummary,
} from "../../gen/dreamnet/cost/v1/cost_summary_pb.js";
import type { BreakdownEntry } from "../core/breakdown.js";
import type { CostDimension } from "../core/dimensions.js";
import type { SeriesPoint } from "../core/series.js";
import type { ClusterSummary } from "../core/summaries.js";
import type { StoredCostRecord } from "../domain/cost-record.js";
import { invalidArgument } from "./field-violation.js";
import { moneyToProto } from "./money-mapping.js";
import { timestampFromMs } from "./time-mapping.js";

/** The wire form of a cluster summary. */
export function summaryToProto(summary: ClusterSummary): CostSummary {
  return create(CostSummarySchema, {
    clusterId: summary.clusterId,
    currencies: summary.currencies.map((c) =>
      create(CurrencyCostSummarySchema, {
        currencyCode: c.currency,
        totalCost: moneyToProto(c.total),
        costToday: moneyToProto(c.today),
        costThisWeek: moneyToProto(c.thisWeek),
        costThisMonth: moneyToProto(c.thisMonth),
        recordCount: BigInt(c.recordCount),
        recordCountToday: BigInt(c.recordCountToday),
      }),
    ),
    recordCount: BigInt(summary.recordCount),
    lastUpdateTime: timestampFromMs(summary.lastUpdateMs),
    asOfTime: timestampFromMs(summary.asOfMs),
  });
}

/** The wire form of a breakdown entry. */
export function breakdownEntryToProto(entry: BreakdownEntry): CostBreakdownEntry {
  return create(CostBreakdownEntrySchema, { key: entry.key, cost: moneyToProto(entry.cost), recordCount: BigInt(entry.recordCount) });
}

/** The wire form of a series point. */
export function seriesPointToProto(point: SeriesPoint): CostSeriesPoint {
  return create(CostSeriesPointSchema, {
    bucketStartTime: timestampFromMs(point.bucketStartMs),
    key: point.key,
    cost: moneyToProto(point.cost),
    recordCount: BigInt(point.recordCount),
  });
}

/** The wire form of a stored record. */
export function recordToProto(record: StoredCostRecord): CostRecordProto {
  return create(CostRecordSchema, {
    id: record.id,
    clusterId: record.clusterId,
    provider: record.provider,
    operation: record.operation,
    model: record.model,
    cost: moneyToProto(record.cost),
    timestamp: timestampFromMs(record.timestampMs),
    traceId: record.traceId,
    metadata: record.metadataJson ? (JSON.parse(record.metadataJson) as CostRecordProto["metadata"]) : undefined,
    receiveTime: timestampFromMs(record.receivedAtMs),
  });
}

/** The core dimension of a wire dimension; `required` refuses UNSPECIFIED, otherwise it means none. */
export function dimensionFromProto(value: CostDimensionProto, field: string, required: boolean): CostDimension | undefined {
  switch (value) {
    case CostDimensionProto.PROVIDER:
      return "provider";
    case CostDimensionProto.OPERATION:
      return "operation";
    case CostDimensionProto.MODEL:
      return "model";
    case CostDimensionProto.CLUSTER:
      return "cluster";
    case CostDimensionProto.UNSPECIFIED:
      if (!required) return undefined;
      throw invalidArgument({ field, description: "is required: PROVIDER, OPERATION, MODEL or CLUSTER" });
    default:
      throw invalidArgument({ field, description: `has unknown value ${String(value)}` });
  }
}
