import type { Alert, AlertEvent } from "../domain/alert.js";
import type { AuditEntry, AuditEvent, AuditQuery, AuditStamp } from "../domain/audit.js";
import type { BucketLevel } from "../domain/bucket-plan.js";
import type { Budget } from "../domain/budget.js";
import type { CostRecord, StoredCostRecord } from "../domain/cost-record.js";
import type { TimeRange } from "../domain/time.js";

/** A dimension rows can be grouped by; sums are always grouped by currency too. */
export type GroupField = "cluster" | "provider" | "operation" | "model";

/** Which records or roll-ups a sum covers. */
export interface SumFilter {
  /** Only these clusters; undefined for all. An empty list matches nothing. */
  readonly clusterIds?: readonly string[] | undefined;
  /** Only this currency; undefined for all. */
  readonly currency?: string | undefined;
}

/** A sum of roll-ups or records for one group and currency. Grouped-by fields are set, the others "". */
export interface SumRow {
  readonly clusterId: string;
  readonly provider: string;
  readonly operation: string;
  readonly model: string;
  /** Start of the bucket when the query asked for per-bucket rows, otherwise 0. */
  readonly bucketStartMs: number;
  readonly currency: string;
  /** Whole units and nano-units summed separately (see RollupAmount). */
  readonly units: bigint;
  readonly nanos: bigint;
  readonly count: number;
}

/** A sum over roll-up buckets whose start lies in [fromMs, toMs). */
export interface RollupSumQuery extends TimeRange {
  /** "cluster": per cluster and currency (levels minute, hour, day); "detail": also per provider, operation, model (hour, day). */
  readonly scope: "cluster" | "detail";
  readonly level: BucketLevel;
  readonly filter: SumFilter;
  /** Must be "cluster" only for the cluster scope. */
  readonly groupBy: readonly GroupField[];
  /** One row per bucket as well. */
  readonly perBucket?: boolean;
}

/** A sum over raw records whose timestamp lies in [fromMs, toMs). */
export interface RecordSumQuery extends TimeRange {
  readonly filter: SumFilter;
  readonly groupBy: readonly GroupField[];
}

/** What became of one record in a batch insert. */
export type InsertResult =
  | { readonly kind: "inserted" }
  /** The id was already stored: the stored record, for the caller to tell a retry from a conflict. */
  | { readonly kind: "existing"; readonly stored: StoredCostRecord };

/** A cluster's all-time total in one currency. */
export interface ClusterTotal {
  readonly clusterId: string;
  readonly currency: string;
  readonly units: bigint;
  readonly nanos: bigint;
  readonly count: number;
  /** When a record of the cluster was last committed, epoch ms. */
  readonly lastUpdateMs: number;
}

/** A page of raw records in (timestamp, commit order). */
export interface RecordPage {
  readonly records: readonly StoredCostRecord[];
  /** Pass as `after` to read the next page; undefined on the last page. */
  readonly next?: string | undefined;
}

/** Which raw records to read. */
export interface RecordPageQuery extends TimeRange {
  readonly clusterIds?: readonly string[] | undefined;
  /** An opaque position from a previous page. */
  readonly after?: string | undefined;
  readonly limit: number;
}

/** Which alerts to list. */
export interface AlertQuery {
  readonly clusterIds?: readonly string[] | undefined;
  readonly state: "active" | "acknowledged" | "all";
  /** Only alerts triggered in [fromMs, toMs). */
  readonly fromMs?: number | undefined;
  readonly toMs?: number | undefined;
  /** An opaque position from a previous page. */
  readonly after?: string | undefined;
  readonly limit: number;
}

/** One stored roll-up row with its whole key, for verification. Fields a scope does not have are "" (or 0). */
export interface RollupRow {
  readonly scope: "cluster" | "detail" | "totals";
  readonly level: string;
  readonly clusterId: string;
  readonly bucketStartMs: number;
  readonly currency: string;
  readonly provider: string;
  readonly operation: string;
  readonly model: string;
  readonly units: bigint;
  readonly nanos: bigint;
  readonly count: number;
}

/** The outcome of recording an acknowledgment. */
export interface AcknowledgeResult {
  readonly alert: Alert;
  /** False when the alert had been acknowledged before (the first acknowledgment is kept). */
  readonly newly: boolean;
  /** The ACKNOWLEDGED feed event, when newly acknowledged. */
  readonly event?: AlertEvent | undefined;
}

/**
 * The storage port: narrow domain operations that every adapter implements the same
 * way, as the conformance suite states. Adapters hold no business rules; they
 * store, find and sum.
 */
export interface CostStore {
  /**
   * Stores the records whose id is new and applies their roll-ups, all in one
   * transaction: either everything in the batch is committed or nothing is. A record
   * whose id is already stored (or appears earlier in the batch) is left as it is.
   * Resolves with one result per record, in order, once committed.
   */
  insertRecords(records: readonly CostRecord[], receivedAtMs: number): Promise<readonly InsertResult[]>;
  /**
   * How many insertRecords calls are worth having in flight at once (default 1).
   * Calls still commit in the order they were made.
   */
  readonly insertsInFlight?: number;
  /** Sums roll-up buckets. */
  sumRollups(query: RollupSumQuery): Promise<readonly SumRow[]>;
  /** Sums raw records (used only for the edges of a range that no bucket covers). */
  sumRecords(query: RecordSumQuery): Promise<readonly SumRow[]>;
  /** Cluster ids with at least one record, ordered, after `after`, at most `limit`. */
  listClusters(query: { readonly after?: string | undefined; readonly limit: number; readonly clusterIds?: readonly string[] | undefined }): Promise<readonly string[]>;
  /** All-time totals of the given clusters, one row per cluster and currency. */
  clusterTotals(clusterIds: readonly string[]): Promise<readonly ClusterTotal[]>;
  /** Every stored roll-up row of a scope, a page at a time (opaque `after`). */
  listRollupRows(query: { readonly scope: RollupRow["scope"]; readonly after?: string | undefined; readonly limit: number }): Promise<{ readonly rows: readonly RollupRow[]; readonly next?: string | undefined }>;
  /** Raw records of a time range, a page at a time. */
  listRecords(query: RecordPageQuery): Promise<RecordPage>;

  /** Creates or replaces a budget by id, keeping createdAtMs of the one replaced; audited in the same transaction. */
  putBudget(budget: Budget, stamp: AuditStamp): Promise<{ readonly stored: Budget; readonly before?: Budget | undefined }>;
  getBudget(id: string): Promise<Budget | undefined>;
  /** Budgets ordered by id, after `after`, at most `limit`. */
  listBudgets(query: { readonly clusterIds?: readonly string[] | undefined; readonly after?: string | undefined; readonly limit: number }): Promise<readonly Budget[]>;
  /** Deletes a budget, audited in the same transaction; resolves with it as it was, or undefined if there was none. */
  deleteBudget(id: string, stamp: AuditStamp): Promise<Budget | undefined>;
  /** Every budget of the given clusters. */
  budgetsForClusters(clusterIds: readonly string[]): Promise<readonly Budget[]>;

  /**
   * Stores an alert unless one with the same alertKey exists (a unique key in the
   * store, so concurrent evaluators and instances cannot duplicate it) and, in the
   * same transaction, appends its TRIGGERED event to the feed.
   */
  insertAlert(alert: Alert, eventMs: number): Promise<{ readonly created: boolean; readonly alert: Alert; readonly event?: AlertEvent | undefined }>;
  /** Acknowledges an alert once, audited (actor `by`) in the same transaction; a repeat changes nothing. Undefined if the alert does not exist. */
  acknowledgeAlert(request: { readonly alertId: string; readonly by: string; readonly note: string; readonly atMs: number }): Promise<AcknowledgeResult | undefined>;
  getAlert(id: string): Promise<Alert | undefined>;
  /** Alerts newest first (by trigger time, then id). */
  listAlerts(query: AlertQuery): Promise<{ readonly alerts: readonly Alert[]; readonly next?: string | undefined }>;
  /** Keys (alertKey) of the alerts already raised for a budget in a period. */
  alertKeysForPeriod(budgetId: string, periodStartMs: number): Promise<ReadonlySet<string>>;

  /**
   * Feed events after a cursor in commit order (from the start when undefined), at
   * most `limit`. `expired` is true when the cursor is older than what retention kept.
   */
  readAlertEvents(query: { readonly after?: string | undefined; readonly limit: number }): Promise<{ readonly events: readonly AlertEvent[]; readonly expired: boolean }>;
  /** The cursor of the newest feed event ("0", before any event, when the feed is empty). */
  latestAlertCursor(): Promise<string>;
  /** Drops feed events older than `beforeMs` (retention); resolves with how many. */
  pruneAlertEvents(beforeMs: number): Promise<number>;

  /** Appends entries to the audit log (changes the server notices itself, such as a new keys file). */
  appendAudit(entries: readonly AuditEntry[]): Promise<void>;
  /** Audit events newest first (by commit order). */
  listAuditEvents(query: AuditQuery): Promise<{ readonly events: readonly AuditEvent[]; readonly next?: string | undefined }>;
  /** Stores a named value (such as the last API key set seen) and resolves with the one it replaces. */
  swapSetting(name: string, value: string): Promise<string | undefined>;

  /** Finishes pending work and releases the store. */
  close(): Promise<void>;
}

/** The budget, alert and feed part of the port, which adapters implement as one module. */
export type BudgetAlertOps = Pick<
  CostStore,
  | "putBudget"
  | "getBudget"
  | "listBudgets"
  | "deleteBudget"
  | "budgetsForClusters"
  | "insertAlert"
  | "acknowledgeAlert"
  | "getAlert"
  | "listAlerts"
  | "alertKeysForPeriod"
  | "readAlertEvents"
  | "latestAlertCursor"
  | "pruneAlertEvents"
>;
