import { Long } from "mongodb";
import type { Alert, AlertEvent, AlertEventType } from "../../domain/alert.js";
import { alertKey } from "../../domain/alert.js";
import type { AuditEntry, AuditEvent, AuditResource } from "../../domain/audit.js";
import type { BucketLevel } from "../../domain/bucket-plan.js";
import type { Budget } from "../../domain/budget.js";
import type { ClusterTotal } from "../../core/cost-store.js";
import type { CostRecord, StoredCostRecord } from "../../domain/cost-record.js";
import { NANOS_PER_UNIT } from "../../domain/money.js";
import type { RollupDeltas } from "../../domain/rollup.js";
import { alertFromStored, alertToStored, budgetFromStored, budgetToStored, type StoredAlert, type StoredBudget } from "../codec.js";

/** Collection names of the MongoDB store. */
export const COLLECTIONS = {
  records: "records",
  clusterRollups: "cluster_rollups",
  detailRollups: "detail_rollups",
  clusterTotals: "cluster_totals",
  budgets: "budgets",
  alerts: "alerts",
  alertEvents: "alert_events",
  auditEvents: "audit_events",
  settings: "settings",
  counters: "counters",
} as const;

/** The counter document whose `seq` numbers the alert feed. */
export const ALERT_EVENT_COUNTER_ID = "alert_events";
/** The counter document whose `seq` numbers the audit log. */
export const AUDIT_EVENT_COUNTER_ID = "audit_events";

/**
 * An integer as MongoDB may hand it back: a number (int32, double, or an Int64 that
 * the driver promoted because it fits in 53 bits), a Long, or a bigint (useBigInt64).
 */
export type StoredInteger = number | bigint | Long;

/** A raw record; `_id` is the client's id, so the primary key is the idempotency key. */
export interface RecordDocument {
  readonly _id: string;
  readonly cluster_id: string;
  readonly provider: string;
  readonly operation: string;
  readonly model: string;
  readonly currency: string;
  /** Whole units and the nano-unit remainder, both with the sign of the amount; Int64, never doubles. */
  readonly units: StoredInteger;
  readonly nanos: StoredInteger;
  /** The record's timestamp, epoch ms. */
  readonly ts: number;
  readonly trace_id: string;
  /** Canonical metadata JSON, "" when absent. */
  readonly metadata: string;
  readonly received_ms: number;
  /** Arrival order (see createArrivalSequence in arrival-order.ts): breaks ties between equal timestamps in listings. */
  readonly arrival: number;
}

/** The key fields of a per-cluster roll-up bucket (also its upsert filter). */
export interface ClusterRollupKey {
  readonly _id: string;
  readonly level: BucketLevel;
  readonly cluster_id: string;
  readonly bucket_start: number;
  readonly currency: string;
}

/** The key fields of a detail roll-up bucket (also its upsert filter). */
export interface DetailRollupKey extends ClusterRollupKey {
  readonly provider: string;
  readonly operation: string;
  readonly model: string;
}

/** The key fields of a cluster's all-time total in one currency (also its upsert filter). */
export interface ClusterTotalKey {
  readonly _id: string;
  readonly cluster_id: string;
  readonly currency: string;
}

/** The amounts every roll-up document carries. */
export interface RollupAmounts {
  readonly units: StoredInteger;
  readonly nanos: StoredInteger;
  readonly record_count: StoredInteger;
}

/** A per-cluster roll-up bucket. */
export type ClusterRollupDocument = ClusterRollupKey & RollupAmounts;
/** A detail roll-up bucket. */
export type DetailRollupDocument = DetailRollupKey & RollupAmounts;
/** A cluster's all-time total in one currency, with the instant of its last commit. */
export type ClusterTotalDocument = ClusterTotalKey & RollupAmounts & { readonly last_update_ms: number };

/**
 * An upsert that adds to one roll-up document. The filter names every key field,
 * so an upsert creates the document with them (no $setOnInsert needed) and a
 * sharded collection sees its shard key in the filter.
 */
export interface RollupIncrement<K> {
  readonly filter: K;
  readonly update: {
    readonly $inc: { readonly units: Long; readonly nanos: Long; readonly record_count: number };
    readonly $max?: { readonly last_update_ms: number };
  };
}

/** Every roll-up upsert a batch makes, one per document. */
export interface RollupWrites {
  readonly cluster: readonly RollupIncrement<ClusterRollupKey>[];
  readonly detail: readonly RollupIncrement<DetailRollupKey>[];
  readonly totals: readonly RollupIncrement<ClusterTotalKey>[];
}

/** A budget; the body is the codec's JSON-safe form. */
export interface BudgetDocument {
  readonly _id: string;
  readonly cluster_id: string;
  readonly budget: StoredBudget;
}

/** An alert; `alert_key` has a unique index (at most one alert per budget, period, kind, threshold). */
export interface AlertDocument {
  readonly _id: string;
  readonly alert_key: string;
  readonly cluster_id: string;
  readonly budget_id: string;
  readonly period_start_ms: number;
  readonly triggered_ms: number;
  readonly acknowledged: boolean;
  readonly alert: StoredAlert;
}

/** A feed event; `_id` is its sequence number, which follows commit order (see the alert ops). */
export interface AlertEventDocument {
  readonly _id: number;
  readonly type: AlertEventType;
  readonly alert_id: string;
  readonly cluster_id: string;
  readonly event_ms: number;
  readonly alert: StoredAlert;
}

/** An audit log entry; `_id` is its sequence number, which follows commit order like the feed's. */
export interface AuditEventDocument {
  readonly _id: number;
  readonly at_ms: number;
  readonly actor: string;
  readonly action: string;
  readonly resource_type: AuditResource;
  readonly resource_id: string;
  readonly cluster_id: string;
  readonly before_json: string;
  readonly after_json: string;
}

/** A named value (swapSetting). */
export interface SettingDocument {
  readonly _id: string;
  readonly value: string;
}

/** A named sequence. */
export interface CounterDocument {
  readonly _id: string;
  readonly seq: StoredInteger;
}

/** An exact bigint from a stored integer; throws on a fraction or a double past 2^53. */
export function bigIntFromStored(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new RangeError(`stored amount ${value} is not an exact integer`);
    return BigInt(value);
  }
  if (Long.isLong(value)) return BigInt(value.toString());
  throw new TypeError(`expected a stored integer, got ${value === null ? "null" : typeof value}`);
}

/** A JS number from a stored integer that must be a safe integer (counts, sequence numbers). */
export function numberFromStored(value: unknown): number {
  const n = Number(bigIntFromStored(value));
  if (!Number.isSafeInteger(n)) throw new RangeError(`stored integer ${String(value)} exceeds 2^53`);
  return n;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** An Int64; refuses what does not fit (Long.fromBigInt would silently wrap it). */
function int64(value: bigint): Long {
  if (value < INT64_MIN || value > INT64_MAX) throw new RangeError(`amount ${value} does not fit in a 64-bit integer`);
  return Long.fromBigInt(value);
}

/** The document a new record is stored as; `arrival` is its place in arrival order. */
export function recordToDocument(record: CostRecord, receivedAtMs: number, arrival: number): RecordDocument {
  const units = record.cost.nanos / NANOS_PER_UNIT;
  return {
    _id: record.id,
    cluster_id: record.clusterId,
    provider: record.provider,
    operation: record.operation,
    model: record.model,
    currency: record.cost.currency,
    units: int64(units),
    nanos: int64(record.cost.nanos - units * NANOS_PER_UNIT),
    ts: record.timestampMs,
    trace_id: record.traceId,
    metadata: record.metadataJson,
    received_ms: receivedAtMs,
    arrival,
  };
}

/** A stored record from its document. */
export function recordFromDocument(doc: RecordDocument): StoredCostRecord {
  return {
    id: doc._id,
    clusterId: doc.cluster_id,
    provider: doc.provider,
    operation: doc.operation,
    model: doc.model,
    cost: { currency: doc.currency, nanos: bigIntFromStored(doc.units) * NANOS_PER_UNIT + bigIntFromStored(doc.nanos) },
    timestampMs: doc.ts,
    traceId: doc.trace_id,
    metadataJson: doc.metadata,
    receivedAtMs: doc.received_ms,
  };
}

/** The `_id` of a per-cluster roll-up bucket: a JSON array, so no separator can be confused with a field's content. */
export function clusterRollupId(level: BucketLevel, clusterId: string, bucketStartMs: number, currency: string): string {
  return JSON.stringify([level, clusterId, bucketStartMs, currency]);
}

/** The `_id` of a detail roll-up bucket. */
export function detailRollupId(
  level: BucketLevel,
  clusterId: string,
  bucketStartMs: number,
  currency: string,
  provider: string,
  operation: string,
  model: string,
): string {
  return JSON.stringify([level, clusterId, bucketStartMs, currency, provider, operation, model]);
}

/** The `_id` of a cluster total. */
export function clusterTotalId(clusterId: string, currency: string): string {
  return JSON.stringify([clusterId, currency]);
}

/** The upserts that apply a batch's roll-up deltas (from rollupDeltas): one `$inc` per document. */
export function rollupWrites(deltas: RollupDeltas, receivedAtMs: number): RollupWrites {
  const inc = (d: { units: bigint; nanos: bigint; count: number }) => ({ units: int64(d.units), nanos: int64(d.nanos), record_count: d.count });
  return {
    cluster: deltas.cluster.map((d) => ({
      filter: {
        _id: clusterRollupId(d.level, d.clusterId, d.bucketStartMs, d.currency),
        level: d.level,
        cluster_id: d.clusterId,
        bucket_start: d.bucketStartMs,
        currency: d.currency,
      },
      update: { $inc: inc(d) },
    })),
    detail: deltas.detail.map((d) => ({
      filter: {
        _id: detailRollupId(d.level, d.clusterId, d.bucketStartMs, d.currency, d.provider, d.operation, d.model),
        level: d.level,
        cluster_id: d.clusterId,
        bucket_start: d.bucketStartMs,
        currency: d.currency,
        provider: d.provider,
        operation: d.operation,
        model: d.model,
      },
      update: { $inc: inc(d) },
    })),
    totals: deltas.totals.map((d) => ({
      filter: { _id: clusterTotalId(d.clusterId, d.currency), cluster_id: d.clusterId, currency: d.currency },
      update: { $inc: inc(d), $max: { last_update_ms: receivedAtMs } },
    })),
  };
}

/** A cluster total from its document. */
export function clusterTotalFromDocument(doc: ClusterTotalDocument): ClusterTotal {
  return {
    clusterId: doc.cluster_id,
    currency: doc.currency,
    units: bigIntFromStored(doc.units),
    nanos: bigIntFromStored(doc.nanos),
    count: numberFromStored(doc.record_count),
    lastUpdateMs: doc.last_update_ms,
  };
}

/** The document a budget is stored as. */
export function budgetToDocument(budget: Budget): BudgetDocument {
  return { _id: budget.id, cluster_id: budget.clusterId, budget: budgetToStored(budget) };
}

/** A budget from its document. */
export function budgetFromDocument(doc: BudgetDocument): Budget {
  return budgetFromStored(doc.budget);
}

/** The document an alert is stored as. */
export function alertToDocument(alert: Alert): AlertDocument {
  return {
    _id: alert.id,
    alert_key: alertKey(alert),
    cluster_id: alert.clusterId,
    budget_id: alert.budgetId,
    period_start_ms: alert.periodStartMs,
    triggered_ms: alert.triggeredAtMs,
    acknowledged: alert.acknowledged,
    alert: alertToStored(alert),
  };
}

/** An alert from its document. */
export function alertFromDocument(doc: AlertDocument): Alert {
  return alertFromStored(doc.alert);
}

/** The document of the feed event numbered `seq`. */
export function alertEventToDocument(seq: number, type: AlertEventType, alert: Alert, eventMs: number): AlertEventDocument {
  return { _id: seq, type, alert_id: alert.id, cluster_id: alert.clusterId, event_ms: eventMs, alert: alertToStored(alert) };
}

/** A feed event from its document; the cursor is the sequence number in decimal, as with SQLite. */
export function alertEventFromDocument(doc: AlertEventDocument): AlertEvent {
  return { cursor: String(numberFromStored(doc._id)), type: doc.type, eventMs: doc.event_ms, alert: alertFromStored(doc.alert) };
}

/** The document of the audit entry numbered `seq`. */
export function auditEventToDocument(seq: number, entry: AuditEntry): AuditEventDocument {
  return {
    _id: seq,
    at_ms: entry.atMs,
    actor: entry.actor,
    action: entry.action,
    resource_type: entry.resourceType,
    resource_id: entry.resourceId,
    cluster_id: entry.clusterId,
    before_json: entry.beforeJson,
    after_json: entry.afterJson,
  };
}

/** An audit event from its document; the id is the sequence number in decimal, as with SQLite. */
export function auditEventFromDocument(doc: AuditEventDocument): AuditEvent {
  return {
    id: String(numberFromStored(doc._id)),
    atMs: doc.at_ms,
    actor: doc.actor,
    action: doc.action,
    resourceType: doc.resource_type,
    resourceId: doc.resource_id,
    clusterId: doc.cluster_id,
    beforeJson: doc.before_json,
    afterJson: doc.after_json,
  };
}
