import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { BridgeStats } from "../bridge/bridge-stats.js";
import type { CostCore } from "../core/cost-core.js";
import { NANOS_PER_UNIT, type Money } from "../domain/money.js";

/** What the service measures; handlers and the core report into it, /metrics reads it. */
export interface Metrics {
  readonly registry: Registry;
  /** One finished RPC. */
  observeCall(method: string, code: string, seconds: number): void;
  /** Records refused at the edge (validation, permission). */
  countRejected(count: number): void;
  /** Exports an Economic Engine bridge's lag, deliveries and failures (read when scraped). */
  watchBridge(stats: BridgeStats): void;
}

/** Tuning of what is exported. */
export interface MetricsOptions {
  /** Clusters and budgets with their own label values; the rest are summed under "other" (default 100). */
  readonly maxLabelValues: number;
}

/**
 * Prometheus metrics. Spend, budget utilisation and active alerts are read from
 * the store when scraped, for at most `maxLabelValues` clusters and budgets, so
 * label cardinality stays bounded however many clusters exist.
 */
export function createMetrics(core: CostCore, options: Partial<MetricsOptions> = {}): Metrics {
  const maxLabels = options.maxLabelValues ?? 100;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "cost_core_process_" });

  const calls = new Counter({ name: "cost_core_rpc_requests_total", help: "RPCs finished, by method and gRPC code", labelNames: ["method", "code"], registers: [registry] });
  const durations = new Histogram({
    name: "cost_core_rpc_duration_seconds",
    help: "RPC duration (for streams: until the stream ends), by method",
    labelNames: ["method"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [registry],
  });
  const records = new Counter({ name: "cost_core_records_total", help: "Records received, by outcome", labelNames: ["outcome"], registers: [registry] });
  const commits = new Histogram({
    name: "cost_core_ingest_commit_seconds",
    help: "Time to commit one group-commit write to the store",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const batchSizes = new Histogram({
    name: "cost_core_ingest_batch_records",
    help: "Records per group-commit write",
    buckets: [1, 10, 100, 500, 1_000, 2_500, 5_000, 10_000],
    registers: [registry],
  });
  core.ingest.onCommitted((batch) => {
    commits.observe(batch.writeMs / 1000);
    const submitted = batch.submittedRecords.length;
    batchSizes.observe(submitted);
    records.inc({ outcome: "accepted" }, batch.records.length);
    // Duplicates and conflicts are the rest of the write.
    if (submitted > batch.records.length) records.inc({ outcome: "not_new" }, submitted - batch.records.length);
  });

  new Gauge({
    name: "cost_core_ingest_pending_records",
    help: "Records waiting for or inside a group-commit write",
    registers: [registry],
    collect() {
      this.set(core.ingest.pendingRecords);
    },
  });
  new Gauge({
    name: "cost_core_alert_watchers",
    help: "Open WatchAlerts streams",
    registers: [registry],
    collect() {
      this.set(core.feed.watchers);
    },
  });
  new Gauge({
    name: "cost_core_spend_total",
    help: `All-time spend per cluster and currency, in currency units (first ${maxLabels} clusters by id; the rest as cluster="other")`,
    labelNames: ["cluster", "currency"],
    registers: [registry],
    async collect() {
      this.reset();
      const clusters = await core.summaries.list({ limit: maxLabels + 1_000 });
      clusters.summaries.forEach((summary, i) => {
        for (const c of summary.currencies) {
          this.inc({ cluster: i < maxLabels ? summary.clusterId : "other", currency: c.currency }, units(c.total));
        }
      });
    },
  });
  new Gauge({
    name: "cost_core_budget_utilisation_ratio",
    help: `Spend in the current period divided by the budget amount (first ${maxLabels} budgets by id)`,
    labelNames: ["budget", "cluster", "period"],
    registers: [registry],
    async collect() {
      this.reset();
      const { budgets } = await core.budgets.list({ limit: maxLabels });
      for (const budget of budgets) {
        const status = await core.budgets.status(budget.id).catch(() => undefined);
        if (!status) continue;
        const ratio = Number((status.spent.nanos * 1_000_000n) / budget.amount.nanos) / 1_000_000;
        this.set({ budget: budget.id, cluster: budget.clusterId, period: budget.period }, ratio);
      }
    },
  });
  new Gauge({
    name: "cost_core_alerts_active",
    help: `Unacknowledged alerts per cluster (first ${maxLabels} clusters; the rest as cluster="other")`,
    labelNames: ["cluster"],
    registers: [registry],
    async collect() {
      this.reset();
      const seen = new Set<string>();
      let after: string | undefined;
      do {
        const page = await core.alerts.list({ state: "active", after, limit: 500 });
        for (const alert of page.alerts) {
          if (seen.size < maxLabels) seen.add(alert.clusterId);
          this.inc({ cluster: seen.has(alert.clusterId) ? alert.clusterId : "other" });
        }
        after = page.next;
      } while (after);
    },
  });

  return {
    registry,
    observeCall(method, code, seconds) {
      calls.inc({ method, code });
      durations.observe({ method }, seconds);
    },
    countRejected(count) {
      if (count > 0) records.inc({ outcome: "rejected" }, count);
    },
    watchBridge(stats) {
      const gauge = (name: string, help: string, read: () => number): void =>
        void new Gauge({
          name,
          help,
          registers: [registry],
          collect() {
            this.set(read());
          },
        });
      gauge("cost_core_bridge_pending_events", "Bridge lag: feed events received but not yet delivered", () => stats.pendingEvents);
      gauge("cost_core_bridge_oldest_pending_seconds", "Bridge lag: age of the oldest undelivered event", () => stats.oldestPendingSeconds);
      gauge("cost_core_bridge_seconds_since_last_delivery", "Seconds since the receiver last accepted an event", () => stats.secondsSinceLastDelivery);
      gauge("cost_core_bridge_events_delivered_total", "Alert events the receiver accepted", () => stats.eventsDelivered);
      gauge("cost_core_bridge_delivery_failures_total", "Delivery attempts that did not end in a 2xx", () => stats.deliveryFailures);
      gauge("cost_core_bridge_dead_lettered_total", "Events written to the dead-letter file", () => stats.deadLettered);
      gauge("cost_core_bridge_connected", "1 while the bridge's WatchAlerts stream is open", () => stats.connected);
    },
  };
}

function units(money: Money): number {
  // A gauge is a float anyway; exact amounts are what the API serves.
  return Number(money.nanos / NANOS_PER_UNIT) + Number(money.nanos % NANOS_PER_UNIT) / 1e9;
}
