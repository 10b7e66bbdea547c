import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createCostCore } from "../../src/core/cost-core.js";
import type { CostStore } from "../../src/core/cost-store.js";
import type { CostRecord } from "../../src/domain/cost-record.js";
import { createSqliteCostStore } from "../../src/store/sqlite/sqlite-cost-store.js";
import { NOW } from "../support/records.js";
import { createTestClock } from "../support/start-test-server.js";

const USD = (units: bigint) => ({ currency: "USD", nanos: units * 1_000_000_000n });

/** A record of `units` USD at `atMs`. */
function record(id: string, units: bigint, atMs: number): CostRecord {
  return { id, clusterId: "CRASHED", provider: "openai", operation: "chat-completion", model: "gpt-4", cost: USD(units), timestampMs: atMs, traceId: "", metadataJson: "" };
}

describe.sequential("a crash between a record commit and the alert it calls for", () => {
  const dir = mkdtempSync(join(tmpdir(), "cost-core-alert-crash-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Regression: a crash between the commit and the alert insert used to lose the alert for good;
  // the core now re-evaluates every budget when it starts, and re-sent duplicates re-trigger evaluation.
  it.each([
    ["the client re-sends its batch", true],
    ["the client had its answer and sends nothing more", false],
  ])("raises the alert after a restart on the same file when %s", async (_case, resend) => {
    const path = join(dir, `costs-${String(resend)}.db`);
    const clock = createTestClock(NOW);
    const before = createSqliteCostStore({ path });
    let alertInsertReached = false;
    // The process "dies" when the alert insert starts: it never completes.
    const dying = new Proxy(before, {
      get(target, key, receiver) {
        if (key === "insertAlert") {
          return () => {
            alertInsertReached = true;
            return new Promise(() => {});
          };
        }
        const value: unknown = Reflect.get(target, key, receiver);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as CostStore;
    const first = createCostCore({ store: dying, clock });
    await first.budgets.set({ id: "crash-budget", clusterId: "CRASHED", amount: USD(10n), period: "monthly", thresholds: [50], enabled: true, timeZone: "UTC" }, "test");
    const outcomes = await first.ingest.record([record("spend-1", 20n, NOW - 60_000)]);
    expect(outcomes).toEqual([{ kind: "accepted" }]);
    for (let i = 0; i < 100 && !alertInsertReached; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(alertInsertReached).toBe(true);

    // Restart on the same file; the client re-sends what it sent (a duplicate now), or, if it
    // had its answer before the crash, sends nothing at all.
    const after = createSqliteCostStore({ path });
    const second = createCostCore({ store: after, clock });
    if (resend) expect(await second.ingest.record([record("spend-1", 20n, NOW - 60_000)])).toEqual([{ kind: "duplicate" }]);
    await second.engine.idle();
    const report = await second.verify();
    await second.close();
    await before.close();
    console.log(`[chaos/alert-after-crash] verify mismatches after restart: ${report.mismatchCount} ${JSON.stringify(report.mismatches)}`);
    expect(report.mismatchCount).toBe(0);
  });
});
