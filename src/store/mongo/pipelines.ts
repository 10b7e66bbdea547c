import type { Document } from "mongodb";
import type { AlertQuery, GroupField, RecordPageQuery, RecordSumQuery, RollupRow, RollupSumQuery, SumFilter, SumRow } from "../../core/cost-store.js";
import { parseAlertPageCursor, parseSeqPageCursor } from "../cursors.js";
import type { AuditQuery } from "../../domain/audit.js";
import { COLLECTIONS, bigIntFromStored, numberFromStored, type RecordDocument } from "./documents.js";

// Every filter and pipeline the MongoDB store runs is built here, by pure functions,
// so the tests can run the very same objects through mingo without a server.

/** A find: filter, order, and optionally a limit and a projection. */
export interface FindSpec {
  readonly filter: Document;
  readonly sort: Readonly<Record<string, 1 | -1>>;
  readonly limit?: number;
  readonly projection?: Document;
}

const GROUP_FIELDS: Readonly<Record<GroupField, string>> = {
  cluster: "cluster_id",
  provider: "provider",
  operation: "operation",
  model: "model",
};

/** The roll-up collection of a sum's scope. */
export function rollupCollectionOf(scope: RollupSumQuery["scope"]): string {
  return scope === "cluster" ? COLLECTIONS.clusterRollups : COLLECTIONS.detailRollups;
}

function sumFilterMatch(filter: SumFilter): Document {
  const match: Document = {};
  // An empty list matches nothing, as `$in: []` does.
  if (filter.clusterIds !== undefined) match.cluster_id = { $in: [...filter.clusterIds] };
  if (filter.currency !== undefined) match.currency = filter.currency;
  return match;
}

function groupStage(groupBy: readonly GroupField[], perBucket: boolean, countExpr: unknown): Document {
  const id: Document = {};
  for (const field of groupBy) id[GROUP_FIELDS[field]] = `$${GROUP_FIELDS[field]}`;
  if (perBucket) id.bucket_start = "$bucket_start";
  id.currency = "$currency";
  // Units and nanos are Int64 in storage, and $sum over Int64 stays Int64: exact.
  return { $group: { _id: id, units: { $sum: "$units" }, nanos: { $sum: "$nanos" }, count: { $sum: countExpr } } };
}

/** The aggregation (on rollupCollectionOf(query.scope)) that sums roll-up buckets starting in [fromMs, toMs). */
export function rollupSumPipeline(query: RollupSumQuery): Document[] {
  if (query.scope === "cluster" && query.groupBy.some((g) => g !== "cluster")) {
    throw new Error("cluster roll-ups can only be grouped by cluster");
  }
  return [
    { $match: { level: query.level, bucket_start: { $gte: query.fromMs, $lt: query.toMs }, ...sumFilterMatch(query.filter) } },
    groupStage(query.groupBy, query.perBucket === true, "$record_count"),
  ];
}

/** The aggregation (on records) that sums raw records with a timestamp in [fromMs, toMs). */
export function recordSumPipeline(query: RecordSumQuery): Document[] {
  return [{ $match: { ts: { $gte: query.fromMs, $lt: query.toMs }, ...sumFilterMatch(query.filter) } }, groupStage(query.groupBy, false, 1)];
}

/** A SumRow from a document the sum pipelines produce. */
export function sumRowFromGroup(doc: Document): SumRow {
  const id = doc._id as Record<string, unknown>;
  return {
    clusterId: typeof id.cluster_id === "string" ? id.cluster_id : "",
    provider: typeof id.provider === "string" ? id.provider : "",
    operation: typeof id.operation === "string" ? id.operation : "",
    model: typeof id.model === "string" ? id.model : "",
    bucketStartMs: id.bucket_start === undefined ? 0 : numberFromStored(id.bucket_start),
    currency: String(id.currency),
    units: bigIntFromStored(doc.units),
    nanos: bigIntFromStored(doc.nanos),
    count: numberFromStored(doc.count),
  };
}

/** The aggregation (on cluster_totals) that lists cluster ids after `after`, ordered, at most `limit`. */
export function clusterListPipeline(query: { readonly after?: string | undefined; readonly limit: number; readonly clusterIds?: readonly string[] | undefined }): Document[] {
  const clusterId: Document = { $gt: query.after ?? "" };
  if (query.clusterIds !== undefined) clusterId.$in = [...query.clusterIds];
  return [
    { $match: { cluster_id: clusterId } },
    { $sort: { cluster_id: 1 } },
    { $group: { _id: "$cluster_id" } },
    { $sort: { _id: 1 } },
    { $limit: query.limit },
  ];
}

/** The collection holding the roll-up rows of a scope. */
export function rollupRowsCollectionOf(scope: RollupRow["scope"]): string {
  return scope === "totals" ? COLLECTIONS.clusterTotals : rollupCollectionOf(scope);
}

/** The find (on rollupRowsCollectionOf(scope)) of one page of every stored roll-up row, in `_id` order. */
export function rollupRowsFind(query: { readonly after?: string | undefined; readonly limit: number }): FindSpec {
  return { filter: query.after === undefined ? {} : { _id: { $gt: query.after } }, sort: { _id: 1 }, limit: query.limit };
}

/** A RollupRow from a roll-up or total document; fields the scope does not have are "" (or 0). */
export function rollupRowFromDocument(scope: RollupRow["scope"], doc: Document): RollupRow {
  const text = (value: unknown): string => (typeof value === "string" ? value : "");
  return {
    scope,
    level: text(doc.level),
    clusterId: text(doc.cluster_id),
    bucketStartMs: doc.bucket_start === undefined ? 0 : numberFromStored(doc.bucket_start),
    currency: text(doc.currency),
    provider: text(doc.provider),
    operation: text(doc.operation),
    model: text(doc.model),
    units: bigIntFromStored(doc.units),
    nanos: bigIntFromStored(doc.nanos),
    count: numberFromStored(doc.record_count),
  };
}

/** The find (on cluster_totals) of the given clusters' totals. */
export function clusterTotalsFind(clusterIds: readonly string[]): FindSpec {
  return { filter: { cluster_id: { $in: [...clusterIds] } }, sort: { cluster_id: 1, currency: 1 } };
}

/** The position after a record document in (ts, arrival, _id) order. */
export function recordCursorOf(doc: Pick<RecordDocument, "ts" | "arrival" | "_id">): string {
  return `${doc.ts}:${doc.arrival}:${doc._id}`;
}

function parseRecordCursor(after: string): { ts: number; arrival: number; id: string } {
  const match = /^(-?\d{1,16}):(\d{1,16}):([\s\S]*)$/.exec(after);
  if (!match) throw new RangeError("malformed record cursor");
  return { ts: Number(match[1]), arrival: Number(match[2]), id: match[3] ?? "" };
}

/**
 * The find (on records) of one page of a time range in (timestamp, arrival) order,
 * the record id breaking what ties remain: keyset pagination, so a page costs
 * the same however deep it is.
 */
export function recordPageFind(query: RecordPageQuery): FindSpec {
  const filter: Document = {};
  const position = query.after ? parseRecordCursor(query.after) : undefined;
  if (position && position.ts >= query.fromMs) {
    filter.ts = { $gte: position.ts, $lt: query.toMs };
    filter.$or = [
      { ts: { $gt: position.ts } },
      { ts: position.ts, arrival: { $gt: position.arrival } },
      { ts: position.ts, arrival: position.arrival, _id: { $gt: position.id } },
    ];
  } else {
    filter.ts = { $gte: query.fromMs, $lt: query.toMs };
  }
  if (query.clusterIds !== undefined) filter.cluster_id = { $in: [...query.clusterIds] };
  return { filter, sort: { ts: 1, arrival: 1, _id: 1 }, limit: query.limit };
}

/** The find (on budgets) of one page of budgets ordered by id. */
export function budgetPageFind(query: { readonly clusterIds?: readonly string[] | undefined; readonly after?: string | undefined; readonly limit: number }): FindSpec {
  const filter: Document = { _id: { $gt: query.after ?? "" } };
  if (query.clusterIds !== undefined) filter.cluster_id = { $in: [...query.clusterIds] };
  return { filter, sort: { _id: 1 }, limit: query.limit };
}

/** The find (on budgets) of every budget of the given clusters. */
export function budgetsForClustersFind(clusterIds: readonly string[]): FindSpec {
  return { filter: { cluster_id: { $in: [...clusterIds] } }, sort: { _id: 1 } };
}

/** The find (on alerts) of one page of alerts, newest first (trigger time, then id). */
export function alertPageFind(query: AlertQuery): FindSpec {
  const filter: Document = {};
  if (query.clusterIds !== undefined) filter.cluster_id = { $in: [...query.clusterIds] };
  if (query.state !== "all") filter.acknowledged = query.state === "acknowledged";
  const triggered: Document = {};
  if (query.fromMs !== undefined) triggered.$gte = query.fromMs;
  if (query.toMs !== undefined) triggered.$lt = query.toMs;
  if (query.after !== undefined) {
    const { triggeredAtMs: at, id } = parseAlertPageCursor(query.after);
    triggered.$lte = at;
    filter.$or = [{ triggered_ms: { $lt: at } }, { triggered_ms: at, _id: { $lt: id } }];
  }
  if (Object.keys(triggered).length > 0) filter.triggered_ms = triggered;
  return { filter, sort: { triggered_ms: -1, _id: -1 }, limit: query.limit };
}

/** The find (on alerts) of the alert keys raised for a budget in a period. */
export function alertKeysFind(budgetId: string, periodStartMs: number): FindSpec {
  return { filter: { budget_id: budgetId, period_start_ms: periodStartMs }, sort: { _id: 1 }, projection: { _id: 0, alert_key: 1 } };
}

/** The find (on alert_events) of the events after a sequence number, in sequence (commit) order. */
export function alertEventsFind(afterSeq: number, limit: number): FindSpec {
  return { filter: { _id: { $gt: afterSeq } }, sort: { _id: 1 }, limit };
}

/** The find (on alert_events) of the oldest event retention kept. */
export function oldestAlertEventFind(): FindSpec {
  return { filter: {}, sort: { _id: 1 }, limit: 1, projection: { _id: 1 } };
}

/** The filter (on alert_events) of the events that retention drops. */
export function alertEventsBeforeFilter(beforeMs: number): Document {
  return { event_ms: { $lt: beforeMs } };
}

/** The find (on audit_events) of one page of the audit log, newest first (commit order). */
export function auditPageFind(query: AuditQuery): FindSpec {
  const filter: Document = {};
  if (query.actor !== undefined) filter.actor = query.actor;
  if (query.resourceType !== undefined) filter.resource_type = query.resourceType;
  if (query.resourceId !== undefined) filter.resource_id = query.resourceId;
  if (query.clusterIds !== undefined) filter.cluster_id = { $in: [...query.clusterIds] };
  const at: Document = {};
  if (query.fromMs !== undefined) at.$gte = query.fromMs;
  if (query.toMs !== undefined) at.$lt = query.toMs;
  if (Object.keys(at).length > 0) filter.at_ms = at;
  if (query.after !== undefined) {
    filter._id = { $lt: parseSeqPageCursor(query.after) };
  }
  return { filter, sort: { _id: -1 }, limit: query.limit };
}
