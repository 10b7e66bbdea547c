import type { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { createSqliteCostStore } from "../../src/store/sqlite/sqlite-cost-store.js";
import { workerFlags } from "../../src/store/sqlite/writer-thread.js";
import { useTempFiles } from "../support/temp-files.js";
import { generateCostRecords } from "../support/cost-fixtures.js";

const T1 = Date.UTC(2026, 2, 8, 6);
const nextPath = useTempFiles("writer");

describe("the SQLite writer thread", () => {
  it("commits batches sent without waiting in the order they were sent", async () => {
    const store = createSqliteCostStore({ path: nextPath() });
    try {
      const records = generateCostRecords(21, 400);
      // Each batch re-sends the previous batch's records and adds 20 new ones: only if the
      // thread commits them in order are exactly the re-sent ones found as existing.
      const batches = Array.from({ length: 20 }, (_, i) => records.slice(Math.max(0, (i - 1) * 20), (i + 1) * 20));
      const results = await Promise.all(batches.map((batch) => store.insertRecords(batch, T1)));
      results.forEach((batch, i) => {
        expect(batch.filter((r) => r.kind === "existing")).toHaveLength(i === 0 ? 0 : 20);
        expect(batch.slice(-20).every((r) => r.kind === "inserted")).toBe(true);
      });
      expect(store.insertsInFlight).toBe(2);
    } finally {
      await store.close();
    }
  });

  it("fails the batch of a thread that dies with StoreUnavailableError, rolls it back whole, and writes the next batch on a new thread", async () => {
    const threads: Worker[] = [];
    const started = (worker: Worker): void => void threads.push(worker);
    process.on("worker", started);
    const store = createSqliteCostStore({ path: nextPath() });
    try {
      const [first, lost, next] = [generateCostRecords(31, 100), generateCostRecords(32, 20_000), generateCostRecords(33, 100)];
      expect((await store.insertRecords(first, T1)).every((r) => r.kind === "inserted")).toBe(true);
      expect(threads).toHaveLength(1);
      // Killed while its transaction of 20,000 records runs (or before it starts).
      const dying = store.insertRecords(lost, T1);
      await threads[0]?.terminate();
      await expect(dying).rejects.toMatchObject({ name: "StoreUnavailableError" });

      expect((await store.insertRecords(next, T1)).every((r) => r.kind === "inserted")).toBe(true);
      expect(threads).toHaveLength(2);
      // Nothing of the failed batch was kept: re-sent, every record is new.
      expect((await store.insertRecords(lost, T1)).every((r) => r.kind === "inserted")).toBe(true);
      const stored = await store.sumRecords({ fromMs: T1 - 400 * 86_400_000, toMs: T1 + 400 * 86_400_000, filter: {}, groupBy: [] });
      expect(stored.reduce((n, row) => n + row.count, 0)).toBe(20_200);
    } finally {
      process.off("worker", started);
      await store.close();
    }
  });

  it("answers once closed with StoreUnavailableError, after finishing what was sent", async () => {
    const store = createSqliteCostStore({ path: nextPath() });
    const sent = store.insertRecords(generateCostRecords(22, 50), T1);
    await store.close();
    expect((await sent).every((r) => r.kind === "inserted")).toBe(true);
    await expect(store.insertRecords(generateCostRecords(23, 1), T1)).rejects.toMatchObject({ name: "StoreUnavailableError" });
  });

  it("passes on the parent's profiling flags, not its loaders or process-wide heap sizes", () => {
    const parent = ["--cpu-prof", "--cpu-prof-dir=/tmp/p", "--import", "tsx", "--require=./x.cjs", "--max-old-space-size=96", "--enable-source-maps", "--heap-prof-interval=1024"];
    expect(workerFlags(parent)).toEqual(["--cpu-prof", "--cpu-prof-dir=/tmp/p", "--enable-source-maps", "--heap-prof-interval=1024"]);
  });
});
