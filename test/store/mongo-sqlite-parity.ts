import { afterEach, describe, expect, it } from "vitest";
import type { CostStore } from "../../src/core/cost-store.js";
import type { Alert } from "../../src/domain/alert.js";
import type { Budget } from "../../src/domain/budget.js";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../../src/domain/time.js";
import { createSqliteCostStore } from "../../src/store/sqlite/sqlite-cost-store.js";
import { generateCostRecords } from "../support/cost-fixtures.js";

// The roll-up row listing and the budget, alert, feed, audit and settings operations,
// which the conformance suite does not cover yet, stated as "answers exactly what the SQLite store answers": the
// same calls go to both stores and every result (or rejection) must be equal.

const T = Date.UTC(2026, 2, 1, 8);

function budget(i: number, changes: Partial<Budget> = {}): Budget {
  return {
    id: `budget-${i}`,
    clusterId: ["alpha", "beta", "gamma"][i % 3] as string,
    amount: { currency: i % 2 ? "EUR" : "USD", nanos: BigInt(i + 1) * 10_000_000_007n },
    period: (["daily", "weekly", "monthly"] as const)[i % 3] as Budget["period"],
    thresholds: [50, 80],
    enabled: true,
    timeZone: "Europe/Berlin",
    createdAtMs: T + i,
    updatedAtMs: T + i,
    ...changes,
  };
}

function alert(i: number, changes: Partial<Alert> = {}): Alert {
  const periodStartMs = T + (i % 2) * DAY_MS;
  return {
    id: `alert-${i}`,
    clusterId: ["alpha", "beta"][i % 2] as string,
    budgetId: `budget-${i % 3}`,
    kind: i % 4 === 0 ? "exceeded" : "threshold",
    thresholdPercent: i % 4 === 0 ? 100 : [50, 80, 90][i % 3] as number,
    threshold: { currency: "USD", nanos: 5_000_000_000n },
    currentCost: { currency: "USD", nanos: 5_000_000_001n + BigInt(i) },
    percent: 100.01,
    period: "daily",
    periodStartMs,
    periodEndMs: periodStartMs + DAY_MS,
    triggeredAtMs: periodStartMs + (i % 3) * HOUR_MS,
    acknowledged: false,
    acknowledgedBy: "",
    acknowledgedAtMs: 0,
    acknowledgeNote: "",
    ...changes,
  };
}

type Outcome = { readonly value: unknown } | { readonly error: string };

async function outcome(work: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { value: await work() };
  } catch (error) {
    return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

/** Declares tests that run the same calls on a fresh SQLite store and on `open()`'s store. */
export function describeSqliteParity(name: string, open: () => Promise<CostStore>): void {
  describe(`answers like the SQLite store: ${name}`, () => {
    const opened: CostStore[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    async function pair(): Promise<<T>(work: (store: CostStore) => Promise<T>, label?: string) => Promise<T>> {
      const sqlite = createSqliteCostStore({ path: ":memory:" });
      const other = await open();
      opened.push(sqlite, other);
      return async (work, label) => {
        const expected = await outcome(() => work(sqlite));
        expect(await outcome(() => work(other)), label).toEqual(expected);
        if ("error" in expected) throw new Error(`expected rejection: ${expected.error}`);
        return expected.value as never;
      };
    }

    async function rejectsAlike(both: Awaited<ReturnType<typeof pair>>, work: (store: CostStore) => Promise<unknown>): Promise<void> {
      await expect(both(work)).rejects.toThrow(/expected rejection/);
    }

    it("roll-up rows: every stored row of each scope once, page after page (row order and tokens are the store's own)", async () => {
      const both = await pair();
      const records = generateCostRecords(11, 300);
      for (let i = 0; i < records.length; i += 100) await both((s) => s.insertRecords(records.slice(i, i + 100), T + i));
      for (const scope of ["cluster", "detail", "totals"] as const) {
        const rowsOf = async (store: CostStore): Promise<string[]> => {
          const rows: string[] = [];
          let after: string | undefined;
          do {
            const page = await store.listRollupRows({ scope, after, limit: 13 });
            expect(page.rows.length).toBeLessThanOrEqual(13);
            rows.push(...page.rows.map((r) => JSON.stringify({ ...r, units: r.units.toString(), nanos: r.nanos.toString() })));
            after = page.next;
          } while (after !== undefined);
          return rows.sort();
        };
        const [sqlite, other] = opened.slice(-2) as [CostStore, CostStore];
        const expected = await rowsOf(sqlite);
        expect(expected.length).toBeGreaterThan(scope === "totals" ? 5 : 100);
        expect(await rowsOf(other)).toEqual(expected);
      }
    });

    it("budgets: put, replace keeping createdAtMs, get, list in pages, per cluster, delete, each change audited", async () => {
      const both = await pair();
      const stamp = { actor: "ann", atMs: T };
      for (let i = 0; i < 8; i++) await both((s) => s.putBudget(budget(i), stamp));
      const replaced = await both((s) => s.putBudget(budget(3, { amount: { currency: "USD", nanos: 1n }, createdAtMs: T + 999, updatedAtMs: T + 1_000 }), { actor: "bob", atMs: T + 1_000 }));
      expect(replaced.stored.createdAtMs).toBe(T + 3);
      await both((s) => s.getBudget("budget-3"));
      await both((s) => s.getBudget("nobody"));
      for (const query of [{ limit: 3 }, { limit: 3, after: "budget-2" }, { limit: 10, clusterIds: ["beta", "gamma"] }, { limit: 10, clusterIds: [] }]) {
        await both((s) => s.listBudgets(query), JSON.stringify(query));
      }
      await both((s) => s.budgetsForClusters(["alpha", "nobody"]));
      await both((s) => s.deleteBudget("budget-5", { actor: "carl", atMs: T + 2_000 }));
      await both((s) => s.deleteBudget("budget-5", { actor: "carl", atMs: T + 2_001 }));
      await both((s) => s.listBudgets({ limit: 100 }));
      const audit = await both((s) => s.listAuditEvents({ limit: 100 }));
      expect(audit.events.map((e) => e.action)).toEqual(["budget.delete", "budget.update", ...Array.from({ length: 8 }, () => "budget.create")]);
    });

    it("alerts: one per key, acknowledged once, listed newest first in pages, keys per period", async () => {
      const both = await pair();
      for (let i = 0; i < 14; i++) await both((s) => s.insertAlert(alert(i), T + i * MINUTE_MS), `alert ${i}`);
      // Same key as alert-0 under another id: refused, the first one answered.
      const again = await both((s) => s.insertAlert(alert(12, { id: "alert-dup" }), T + DAY_MS));
      expect(again.created).toBe(false);
      const ack = await both((s) => s.acknowledgeAlert({ alertId: "alert-3", by: "ann", note: "on it", atMs: T + HOUR_MS }));
      expect(ack?.newly).toBe(true);
      await both((s) => s.acknowledgeAlert({ alertId: "alert-3", by: "bob", note: "me too", atMs: T + 2 * HOUR_MS }));
      await both((s) => s.acknowledgeAlert({ alertId: "nobody", by: "bob", note: "", atMs: T }));
      await both((s) => s.acknowledgeAlert({ alertId: "alert-7", by: "bob", note: "", atMs: T + 3 * HOUR_MS }));
      await both((s) => s.getAlert("alert-3"));
      await both((s) => s.getAlert("alert-dup"));
      for (const state of ["active", "acknowledged", "all"] as const) {
        let after: string | undefined;
        do {
          const page = await both((s) => s.listAlerts({ state, limit: 4, after }), `${state} after ${after}`);
          after = page.next;
        } while (after !== undefined);
      }
      await both((s) => s.listAlerts({ state: "all", limit: 100, clusterIds: ["beta"], fromMs: T + HOUR_MS, toMs: T + DAY_MS + 2 * HOUR_MS }));
      await rejectsAlike(both, (s) => s.listAlerts({ state: "all", limit: 4, after: "garbage" }));
      for (let b = 0; b < 3; b++) await both((s) => s.alertKeysForPeriod(`budget-${b}`, T));
      await both((s) => s.listAuditEvents({ limit: 100, resourceType: "alert" }));
    });

    it("the feed: cursors in commit order, replay after any cursor, retention and expiry", async () => {
      const both = await pair();
      expect(await both((s) => s.latestAlertCursor())).toBe("0");
      await both((s) => s.readAlertEvents({ limit: 10 }));
      for (let i = 0; i < 9; i++) await both((s) => s.insertAlert(alert(i), T + i * MINUTE_MS));
      await both((s) => s.acknowledgeAlert({ alertId: "alert-2", by: "ann", note: "", atMs: T + 20 * MINUTE_MS }));
      const last = Number(await both((s) => s.latestAlertCursor()));
      expect(last).toBeGreaterThan(6);
      const cursors = Array.from({ length: last + 1 }, (_, i) => String(i));
      for (const after of [undefined, ...cursors]) await both((s) => s.readAlertEvents({ after, limit: 3 }), `after ${after}`);
      await rejectsAlike(both, (s) => s.readAlertEvents({ after: String(last + 1), limit: 3 }));
      await rejectsAlike(both, (s) => s.readAlertEvents({ after: "x1", limit: 3 }));
      expect(await both((s) => s.pruneAlertEvents(T + 4 * MINUTE_MS + 1))).toBeGreaterThan(2);
      const expiry = new Set<boolean>();
      for (const after of cursors) expiry.add((await both((s) => s.readAlertEvents({ after, limit: 3 }), `after ${after} once pruned`)).expired);
      expect(expiry).toEqual(new Set([true, false]));
      await both((s) => s.pruneAlertEvents(T + DAY_MS));
      for (const after of cursors) await both((s) => s.readAlertEvents({ after, limit: 3 }), `after ${after} once empty`);
      await both((s) => s.latestAlertCursor());
    });

    it("the audit log and settings", async () => {
      const both = await pair();
      await both((s) =>
        s.appendAudit([
          { atMs: T, actor: "system", action: "api_key.add", resourceType: "api_key", resourceId: "k1", clusterId: "", beforeJson: "", afterJson: '{"name":"ci"}' },
          { atMs: T + 1, actor: "system", action: "api_key.remove", resourceType: "api_key", resourceId: "k0", clusterId: "", beforeJson: '{"name":"old"}', afterJson: "" },
        ]),
      );
      await both((s) => s.appendAudit([]));
      await both((s) => s.putBudget(budget(1), { actor: "ann", atMs: T + 2 }));
      for (const query of [{ limit: 2 }, { limit: 2, after: "2" }, { limit: 10, actor: "system" }, { limit: 10, resourceType: "api_key" as const, resourceId: "k0" }, { limit: 10, clusterIds: ["beta"] }, { limit: 10, fromMs: T + 1, toMs: T + 2 }]) {
        await both((s) => s.listAuditEvents(query), JSON.stringify(query));
      }
      await rejectsAlike(both, (s) => s.listAuditEvents({ limit: 1, after: "-1" }));
      expect(await both((s) => s.swapSetting("keys", "v1"))).toBeUndefined();
      expect(await both((s) => s.swapSetting("keys", "v2"))).toBe("v1");
      await both((s) => s.swapSetting("other", ""));
    });
  });
}
