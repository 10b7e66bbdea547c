import { chmod } from "node:fs/promises";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../src/core/errors.js";
import type { CostStore } from "../../src/core/cost-store.js";
import { idHash } from "../../src/store/sqlite/id-hash.js";
import { createSqliteCostStore } from "../../src/store/sqlite/sqlite-cost-store.js";
import { generateCostRecords, makeRecord, sumsFromRows } from "../support/cost-fixtures.js";
import { useTempFiles } from "../support/temp-files.js";
import { describeCostStoreContract } from "./cost-store-contract.js";

const T1 = Date.UTC(2026, 2, 8, 6);
const T2 = Date.UTC(2026, 2, 8, 7);
const EVERYTHING = { fromMs: Date.UTC(2025, 11, 1), toMs: Date.UTC(2026, 5, 1) };

const nextPath = useTempFiles("store");

describeCostStoreContract("sqlite in memory", async () => createSqliteCostStore({ path: ":memory:" }));
// A file is written from a worker thread by default; both ways keep the contract.
describeCostStoreContract("sqlite on a file", async () => createSqliteCostStore({ path: nextPath() }));
describeCostStoreContract("sqlite on a file, written on the main thread", async () => createSqliteCostStore({ path: nextPath(), writerThread: false }));
// Merges of the in-memory id level on almost every commit, so the contract also holds mid-merge.
describeCostStoreContract("sqlite merging its id index every few records", async () =>
  createSqliteCostStore({ path: nextPath(), keyIndex: { mergeAt: 5, mergeChunk: 3 } }),
);

describe("createSqliteCostStore()", () => {
  it("keeps records, roll-ups, totals and ids across close() and reopen", async () => {
    const path = nextPath();
    const records = generateCostRecords(99, 300);
    const first = createSqliteCostStore({ path });
    await first.insertRecords(records, T1);
    const before = await readEverything(first);
    await first.close();

    const reopened = createSqliteCostStore({ path });
    try {
      expect(await readEverything(reopened)).toEqual(before);
      // The ids are still known: re-sending is recognised, new ones are added.
      const results = await reopened.insertRecords([records[0] as (typeof records)[number], makeRecord("after-reopen")], T2);
      expect(results).toEqual([{ kind: "existing", stored: { ...records[0], receivedAtMs: T1 } }, { kind: "inserted" }]);
      expect((await reopened.clusterTotals(["alpha"])).reduce((n, t) => n + t.count, 0)).toBe(records.filter((r) => r.clusterId === "alpha").length + 1);
    } finally {
      await reopened.close();
    }
  });

  it("creates a missing folder for its file", async () => {
    const store = createSqliteCostStore({ path: join(dirname(nextPath()), "nested", "deeper", "store.db") });
    try {
      expect(await store.insertRecords([makeRecord("a")], T1)).toEqual([{ kind: "inserted" }]);
    } finally {
      await store.close();
    }
  });

  it("keeps apart two ids whose 53-bit hashes collide", async () => {
    // Found offline with Brent's cycle search over idHash; no hook in src is needed.
    const a = "col-5limps2cen1";
    const b = "col-6s727p373f9";
    expect(idHash(a)).toBe(idHash(b));
    const store = createSqliteCostStore({ path: ":memory:" });
    try {
      const ra = makeRecord(a, { cost: { currency: "USD", nanos: 1_000_000_000n } });
      const rb = makeRecord(b, { cost: { currency: "USD", nanos: 2_000_000_000n }, clusterId: "beta" });
      expect(await store.insertRecords([ra], T1)).toEqual([{ kind: "inserted" }]);
      expect(await store.insertRecords([rb, ra, rb], T2)).toEqual([
        { kind: "inserted" },
        { kind: "existing", stored: { ...ra, receivedAtMs: T1 } },
        { kind: "existing", stored: { ...rb, receivedAtMs: T2 } },
      ]);
      expect(await store.insertRecords([ra, rb], T2 + 1)).toEqual([
        { kind: "existing", stored: { ...ra, receivedAtMs: T1 } },
        { kind: "existing", stored: { ...rb, receivedAtMs: T2 } },
      ]);
      expect(sumsFromRows(await store.sumRecords({ ...EVERYTHING, filter: {}, groupBy: ["cluster"] })).map((s) => [s.clusterId, s.nanos, s.count])).toEqual([
        ["alpha", 1_000_000_000n, 1],
        ["beta", 2_000_000_000n, 1],
      ]);
    } finally {
      await store.close();
    }
  });

  it("keeps apart colliding ids that arrive in one batch, the later one first", async () => {
    const store = createSqliteCostStore({ path: ":memory:" });
    try {
      const ra = makeRecord("col-5limps2cen1");
      const rb = makeRecord("col-6s727p373f9", { clusterId: "beta" });
      expect(await store.insertRecords([rb, ra], T1)).toEqual([{ kind: "inserted" }, { kind: "inserted" }]);
      expect(await store.insertRecords([ra], T2)).toEqual([{ kind: "existing", stored: { ...ra, receivedAtMs: T1 } }]);
    } finally {
      await store.close();
    }
  });

  it("stores nothing of a batch that fails part-way", async () => {
    const store = createSqliteCostStore({ path: ":memory:" });
    try {
      const good = makeRecord("good");
      // 2^100 nano-units is beyond a 64-bit column: the insert of the second record throws.
      const bad = makeRecord("bad", { cost: { currency: "USD", nanos: 2n ** 100n } });
      await expect(store.insertRecords([good, bad], T1)).rejects.toThrow();
      expect(await store.listRecords({ ...EVERYTHING, limit: 10 })).toEqual({ records: [] });
      expect(await store.sumRollups({ scope: "cluster", level: "minute", ...EVERYTHING, filter: {}, groupBy: [] })).toEqual([]);
      expect(await store.listClusters({ limit: 10 })).toEqual([]);
      expect(await store.insertRecords([good], T2)).toEqual([{ kind: "inserted" }]);
    } finally {
      await store.close();
    }
  });

  it("rejects insertRecords with StoreUnavailableError while another connection holds the write lock", async () => {
    const path = nextPath();
    const store = createSqliteCostStore({ path });
    const other = new Database(path);
    try {
      await store.insertRecords([makeRecord("a")], T1);
      other.exec("BEGIN IMMEDIATE");
      // Waits out the store's 5 s busy timeout, then gives up with a retryable error.
      await expect(store.insertRecords([makeRecord("b")], T2)).rejects.toBeInstanceOf(StoreUnavailableError);
      other.exec("ROLLBACK");
      expect(await store.insertRecords([makeRecord("b")], T2)).toEqual([{ kind: "inserted" }]);
    } finally {
      other.close();
      await store.close();
    }
  });

  // Root ignores file permissions, so these two only run as an ordinary user (as in CI or the
  // Docker image). Making the file or folder read-only after opening changes nothing: the open
  // descriptors stay writable, so that case is not a test.
  const isRoot = process.getuid?.() === 0;

  it.skipIf(isRoot)("rejects insertRecords with StoreUnavailableError when the database file is read-only", async () => {
    const path = nextPath();
    const writable = createSqliteCostStore({ path });
    await writable.insertRecords([makeRecord("a")], T1);
    await writable.close();
    await chmod(path, 0o444);
    const store = createSqliteCostStore({ path });
    try {
      expect((await store.listRecords({ ...EVERYTHING, limit: 10 })).records.map((r) => r.id)).toEqual(["a"]);
      await expect(store.insertRecords([makeRecord("b")], T2)).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await store.close();
    }
  });

  it.skipIf(isRoot)("refuses to open a database in a read-only folder", async () => {
    const folder = join(dirname(nextPath()), "read-only");
    const path = join(folder, "store.db");
    const writable = createSqliteCostStore({ path });
    await writable.insertRecords([makeRecord("a")], T1);
    await writable.close();
    await chmod(folder, 0o555);
    try {
      // WAL needs its -shm file beside the database; the open fails before any insert.
      expect(() => createSqliteCostStore({ path })).toThrow(/readonly/i);
    } finally {
      await chmod(folder, 0o755);
    }
  });
});

async function readEverything(store: CostStore): Promise<unknown> {
  const clusters = await store.listClusters({ limit: 100 });
  return {
    clusters,
    totals: await store.clusterTotals(clusters),
    records: await store.listRecords({ ...EVERYTHING, limit: 10_000 }),
    minutes: sumsFromRows(await store.sumRollups({ scope: "cluster", level: "minute", ...EVERYTHING, filter: {}, groupBy: ["cluster"], perBucket: true })),
    hours: sumsFromRows(await store.sumRollups({ scope: "detail", level: "hour", ...EVERYTHING, filter: {}, groupBy: ["cluster", "provider", "operation", "model"], perBucket: true })),
  };
}
