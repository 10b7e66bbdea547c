import type { IndexDescription } from "mongodb";
import { COLLECTIONS } from "./documents.js";

/**
 * The indexes of every collection, created at start-up with createIndexes (a no-op
 * when an index of the same name and keys exists). Each serves a query in
 * pipelines.ts; `_id` is indexed by MongoDB itself.
 */
export const INDEXES: Readonly<Record<(typeof COLLECTIONS)[keyof typeof COLLECTIONS], readonly IndexDescription[]>> = {
  // Raw records: edge sums and export pages, per cluster or across all, in (ts, arrival, _id) order.
  records: [
    { key: { cluster_id: 1, ts: 1, arrival: 1, _id: 1 }, name: "cluster_ts_arrival" },
    { key: { ts: 1, arrival: 1, _id: 1 }, name: "ts_arrival" },
  ],
  // Roll-ups: a window of one level, for some clusters or for all.
  cluster_rollups: [
    { key: { level: 1, cluster_id: 1, bucket_start: 1 }, name: "level_cluster_bucket" },
    { key: { level: 1, bucket_start: 1 }, name: "level_bucket" },
  ],
  detail_rollups: [
    { key: { level: 1, cluster_id: 1, bucket_start: 1 }, name: "level_cluster_bucket" },
    { key: { level: 1, bucket_start: 1 }, name: "level_bucket" },
  ],
  cluster_totals: [{ key: { cluster_id: 1, currency: 1 }, name: "cluster_currency" }],
  budgets: [{ key: { cluster_id: 1, _id: 1 }, name: "cluster_id" }],
  alerts: [
    // The "alerts fire exactly once" rule, across every instance.
    { key: { alert_key: 1 }, name: "alert_key_unique", unique: true },
    { key: { triggered_ms: -1, _id: -1 }, name: "triggered" },
    { key: { cluster_id: 1, triggered_ms: -1, _id: -1 }, name: "cluster_triggered" },
    { key: { acknowledged: 1, triggered_ms: -1, _id: -1 }, name: "state_triggered" },
    { key: { budget_id: 1, period_start_ms: 1 }, name: "budget_period" },
  ],
  // Retention deletes by event time; reads go by _id (the sequence number).
  alert_events: [{ key: { event_ms: 1 }, name: "event_ms" }],
  // The audit log is read newest first by _id, optionally for one resource, actor or cluster.
  audit_events: [
    { key: { resource_type: 1, resource_id: 1, _id: -1 }, name: "resource" },
    { key: { actor: 1, _id: -1 }, name: "actor" },
    { key: { cluster_id: 1, _id: -1 }, name: "cluster" },
  ],
  settings: [],
  counters: [],
};
