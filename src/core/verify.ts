import { alertKey } from "../domain/alert.js";
import { evaluateBudget } from "../domain/budget-evaluation.js";
import { formatMoney, NANOS_PER_UNIT } from "../domain/money.js";
import { periodRange, previousPeriodRange } from "../domain/period.js";
import { rollupDeltas } from "../domain/rollup.js";
import type { Clock } from "../domain/time.js";
import type { CostStore, RollupRow } from "./cost-store.js";
import { periodSpend } from "./period-spend.js";

/** What a verification found. */
export interface VerifyReport {
  readonly recordsChecked: number;
  readonly rollupRowsChecked: number;
  readonly budgetsChecked: number;
  readonly alertsChecked: number;
  readonly mismatchCount: number;
  /** The first mismatches, in words. */
  readonly mismatches: readonly string[];
}

interface Amount {
  units: bigint;
  nanos: bigint;
  count: number;
}

const PAGE = 5_000;

/**
 * Recounts every roll-up from the raw records and compares it with what the store
 * holds, then checks each budget's current and previous period: every alert its
 * spend calls for exists, and no alert key appears twice. Read-only. Memory grows
 * with the number of roll-up rows, not with the number of records.
 */
export async function verifyStore(store: CostStore, clock: Clock, maxMismatches = 100): Promise<VerifyReport> {
  const mismatches: string[] = [];
  let mismatchCount = 0;
  const report = (text: string): void => {
    mismatchCount++;
    if (mismatches.length < maxMismatches) mismatches.push(text);
  };

  // 1. Recount from raw records.
  const expected = new Map<string, Amount>();
  const add = (key: string, delta: { units: bigint; nanos: bigint; count: number }): void => {
    const acc = expected.get(key);
    if (acc) {
      acc.units += delta.units;
      acc.nanos += delta.nanos;
      acc.count += delta.count;
    } else expected.set(key, { units: delta.units, nanos: delta.nanos, count: delta.count });
  };
  let recordsChecked = 0;
  let after: string | undefined;
  do {
    const page = await store.listRecords({ fromMs: Number.MIN_SAFE_INTEGER, toMs: Number.MAX_SAFE_INTEGER, after, limit: PAGE });
    recordsChecked += page.records.length;
    const deltas = rollupDeltas(page.records);
    for (const d of deltas.cluster) add(rowKey({ scope: "cluster", level: d.level, clusterId: d.clusterId, bucketStartMs: d.bucketStartMs, currency: d.currency, provider: "", operation: "", model: "" }), d);
    for (const d of deltas.detail) add(rowKey({ scope: "detail", ...d }), d);
    for (const d of deltas.totals) add(rowKey({ scope: "totals", level: "", clusterId: d.clusterId, bucketStartMs: 0, currency: d.currency, provider: "", operation: "", model: "" }), d);
    after = page.next;
  } while (after !== undefined);

  // 2. Compare with the stored roll-ups.
  let rollupRowsChecked = 0;
  for (const scope of ["cluster", "detail", "totals"] as const) {
    let cursor: string | undefined;
    do {
      const page = await store.listRollupRows({ scope, after: cursor, limit: PAGE });
      for (const row of page.rows) {
        rollupRowsChecked++;
        const key = rowKey(row);
        const want = expected.get(key);
        expected.delete(key);
        const stored = total(row);
        const recount = want ? total(want) : 0n;
        if (!want || stored !== recount || row.count !== want.count) {
          report(`${describe(row)}: stored ${fmt(stored, row.currency)} in ${row.count} records, recount ${fmt(recount, row.currency)} in ${want?.count ?? 0} records`);
        }
      }
      cursor = page.next;
    } while (cursor !== undefined);
  }
  for (const [key, want] of expected) {
    const parts = JSON.parse(key) as [RollupRow["scope"], string, string, number, string, string, string, string];
    report(`${parts[0]} roll-up ${parts.slice(1).filter((p) => p !== "" && p !== 0).join(" ")} is missing: recount ${fmt(total(want), parts[4])} in ${want.count} records`);
  }

  // 3. Alerts: none duplicated, none missing for the spend recorded.
  let alertsChecked = 0;
  const keys = new Set<string>();
  let alertCursor: string | undefined;
  do {
    const page = await store.listAlerts({ state: "all", after: alertCursor, limit: 500 });
    for (const alert of page.alerts) {
      alertsChecked++;
      const key = alertKey(alert);
      if (keys.has(key)) report(`alert ${key} exists more than once`);
      keys.add(key);
    }
    alertCursor = page.next;
  } while (alertCursor !== undefined);

  let budgetsChecked = 0;
  let budgetCursor: string | undefined;
  const nowMs = clock.now();
  for (;;) {
    const budgets = await store.listBudgets({ after: budgetCursor, limit: 500 });
    for (const budget of budgets) {
      budgetsChecked++;
      if (!budget.enabled) continue;
      for (const period of [periodRange(budget.period, nowMs, budget.timeZone), previousPeriodRange(budget.period, nowMs, budget.timeZone)]) {
        const spent = await periodSpend(store, budget, period);
        for (const candidate of evaluateBudget(budget, spent, period, nowMs)) {
          // A FORECAST depends on when it was evaluated; only spend-based alerts must exist.
          if (candidate.kind === "forecast") continue;
          const key = alertKey({ budgetId: budget.id, period: budget.period, periodStartMs: period.fromMs, kind: candidate.kind, thresholdPercent: candidate.thresholdPercent });
          if (!keys.has(key)) report(`budget ${budget.id}: spend ${formatMoney(spent)} calls for a ${candidate.kind} alert at ${candidate.thresholdPercent} % for the period starting ${new Date(period.fromMs).toISOString()}, but none exists`);
        }
      }
    }
    if (budgets.length < 500) break;
    budgetCursor = budgets[budgets.length - 1]?.id;
  }
  return { recordsChecked, rollupRowsChecked, budgetsChecked, alertsChecked, mismatchCount, mismatches };
}

function rowKey(row: Omit<RollupRow, "units" | "nanos" | "count">): string {
  return JSON.stringify([row.scope, row.level, row.clusterId, row.bucketStartMs, row.currency, row.provider, row.operation, row.model]);
}

function total(amount: { units: bigint; nanos: bigint }): bigint {
  return amount.units * NANOS_PER_UNIT + amount.nanos;
}

function fmt(nanos: bigint, currency: string): string {
  return formatMoney({ currency, nanos });
}

function describe(row: RollupRow): string {
  const at = row.scope === "totals" ? "all time" : `${row.level} ${new Date(row.bucketStartMs).toISOString()}`;
  const detail = row.scope === "detail" ? ` ${row.provider}/${row.operation}/${row.model || "-"}` : "";
  return `${row.scope} roll-up ${row.clusterId} ${row.currency} ${at}${detail}`;
}
