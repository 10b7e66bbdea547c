import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import type { CostStore } from "../../src/core/cost-store.js";
import type { CostRecord } from "../../src/domain/cost-record.js";
import { idHash } from "../../src/store/sqlite/id-hash.js";
import { HashFilter } from "../../src/store/sqlite/hash-filter.js";
import { KeyTable } from "../../src/store/sqlite/key-table.js";
import { createSqliteCostStore } from "../../src/store/sqlite/sqlite-cost-store.js";
import { createSeededRandom } from "../support/seeded-random.js";
import { useTempFiles } from "../support/temp-files.js";
import { generateCostRecords, makeRecord } from "../support/cost-fixtures.js";

const T1 = Date.UTC(2026, 2, 8, 6);
const T2 = Date.UTC(2026, 2, 8, 7);
const EVERYTHING = { fromMs: Date.UTC(2025, 11, 1), toMs: Date.UTC(2026, 5, 1) };

const nextPath = useTempFiles("keys");

async function insertInBatches(store: CostStore, records: readonly CostRecord[], size: number, at: number): Promise<{ inserted: number; existing: number }> {
  const counts = { inserted: 0, existing: 0 };
  for (let i = 0; i < records.length; i += size) {
    for (const result of await store.insertRecords(records.slice(i, i + size), at)) counts[result.kind] += 1;
  }
  return counts;
}

async function storedCount(store: CostStore): Promise<number> {
  return (await store.sumRecords({ ...EVERYTHING, filter: {}, groupBy: [] })).reduce((n, row) => n + row.count, 0);
}

function peek(path: string): { keys: number; mergedSeq: string | undefined; records: number } {
  const db = new Database(path, { readonly: true });
  try {
    return {
      keys: db.prepare("SELECT COUNT(*) FROM record_keys").pluck().get() as number,
      mergedSeq: db.prepare("SELECT value FROM settings WHERE name = 'record_keys_merged_seq'").pluck().get() as string | undefined,
      records: db.prepare("SELECT COUNT(*) FROM records").pluck().get() as number,
    };
  } finally {
    db.close();
  }
}

describe("KeyTable", () => {
  it("finds every stored hash through many doublings, and nothing else", () => {
    const random = createSeededRandom(7);
    const table = new KeyTable(16);
    const stored = new Map<number, number>();
    for (let seq = 1; stored.size < 50_000; seq++) {
      const hash = random.int(0, 2 ** 31) * 2 ** 21 + random.int(0, 2 ** 21 - 1);
      if (stored.has(hash)) continue;
      stored.set(hash, seq);
      table.setIfAbsent(hash, seq);
    }
    expect(table.size).toBe(50_000);
    for (const [hash, seq] of stored) expect(table.get(hash)).toBe(seq);
    expect(table.get(2 ** 53 - 1)).toBeUndefined();
    expect(table.get(0)).toBeUndefined();
  });

  it("keeps the first seq of a hash stored twice", () => {
    const table = new KeyTable();
    table.setIfAbsent(2 ** 52 + 5, 1);
    table.setIfAbsent(2 ** 52 + 5, 2);
    expect(table.get(2 ** 52 + 5)).toBe(1);
    expect(table.size).toBe(1);
  });

  it("forgets every entry on clear() and stores afresh in the same table", () => {
    const table = new KeyTable(16);
    for (let hash = 1; hash <= 100; hash++) table.setIfAbsent(hash * 2 ** 20, hash);
    table.clear();
    expect(table.size).toBe(0);
    expect(table.get(5 * 2 ** 20)).toBeUndefined();
    table.setIfAbsent(5 * 2 ** 20, 7);
    expect([table.get(5 * 2 ** 20), table.get(6 * 2 ** 20), table.size]).toEqual([7, undefined, 1]);
  });

  it("lists its hashes in ascending numeric order", () => {
    const table = new KeyTable();
    for (const hash of [2 ** 40, 3, 2 ** 52 + 1, 0, 17, 2 ** 33]) table.setIfAbsent(hash, 1);
    expect([...table.sortedHashes()]).toEqual([0, 3, 17, 2 ** 33, 2 ** 40, 2 ** 52 + 1]);
  });
});

describe("HashFilter", () => {
  it("never calls an added hash absent, and calls about 1 % of others present at capacity", () => {
    const random = createSeededRandom(8);
    const hash = (): number => random.int(0, 2 ** 31) * 2 ** 22 + random.int(0, 2 ** 22 - 1);
    const filter = new HashFilter(100_000);
    const added = Array.from({ length: filter.capacity }, hash);
    for (const h of added) filter.add(h);
    expect(added.every((h) => filter.mightContain(h))).toBe(true);
    const others = Array.from({ length: 100_000 }, hash);
    const falsePositives = others.filter((h) => filter.mightContain(h)).length;
    expect(falsePositives / others.length).toBeLessThan(0.02);
    expect(filter.size).toBe(added.length);
  });
});

describe("the SQLite id index in two levels", () => {
  it("merges full memory levels into record_keys in chunks and records how far", async () => {
    const path = nextPath();
    const store = createSqliteCostStore({ path, keyIndex: { mergeAt: 1_000, mergeChunk: 300 } });
    try {
      const records = generateCostRecords(11, 2_500);
      expect(await insertInBatches(store, records, 100, T1)).toEqual({ inserted: 2_500, existing: 0 });
      // Frozen after batches 10 and 20, each written in four chunks (300+300+300+100) on the
      // following commits; batches 21-25 are still in memory.
      expect(peek(path)).toEqual({ keys: 2_000, mergedSeq: "2000", records: 2_500 });
      expect(await insertInBatches(store, records, 250, T2)).toEqual({ inserted: 0, existing: 2_500 });
      expect(await storedCount(store)).toBe(2_500);
    } finally {
      await store.close();
    }
  });

  it("merges each frozen level before the next one fills, however large the batches are beside the merge chunk", async () => {
    const path = nextPath();
    // A step of 100 ids against batches of 500: merging at the chunk size alone fell behind for good.
    const store = createSqliteCostStore({ path, keyIndex: { mergeAt: 1_000, mergeChunk: 100 } });
    try {
      const records = generateCostRecords(12, 20_000);
      let mostInMemory = 0;
      for (let i = 0; i < records.length; i += 500) {
        await store.insertRecords(records.slice(i, i + 500), T1);
        const { keys, records: stored } = peek(path);
        mostInMemory = Math.max(mostInMemory, stored - keys);
      }
      expect(mostInMemory).toBeLessThanOrEqual(1_000 + 2 * 500);
      expect(peek(path).records).toBe(20_000);
      expect(await insertInBatches(store, records, 2_000, T2)).toEqual({ inserted: 0, existing: 20_000 });
    } finally {
      await store.close();
    }
  });

  it("recognises every id as its table outgrows the filter again and again", async () => {
    const store = createSqliteCostStore({ path: nextPath(), keyIndex: { mergeAt: 50, mergeChunk: 20, filterCapacity: 100 } });
    try {
      const records = generateCostRecords(15, 3_000);
      expect(await insertInBatches(store, records, 60, T1)).toEqual({ inserted: 3_000, existing: 0 });
      expect(await insertInBatches(store, records, 500, T2)).toEqual({ inserted: 0, existing: 3_000 });
    } finally {
      await store.close();
    }
  });

  it("recognises every id after a crash that left ids only in memory", async () => {
    const path = nextPath();
    const crashed = createSqliteCostStore({ path, keyIndex: { mergeAt: 1_000, mergeChunk: 300 } });
    const records = generateCostRecords(12, 1_750);
    await insertInBatches(crashed, records, 50, T1);
    expect(peek(path).keys).toBe(1_000);
    // A second open of the file stands for the restarted process: the first is never closed.
    const restarted = createSqliteCostStore({ path, keyIndex: { mergeAt: 1_000, mergeChunk: 300 } });
    try {
      const again = [...records, makeRecord("after-restart")];
      expect(await insertInBatches(restarted, again, 400, T2)).toEqual({ inserted: 1, existing: 1_750 });
      expect(await storedCount(restarted)).toBe(1_751);
    } finally {
      await restarted.close();
      await crashed.close();
    }
  });

  it("never stores an id twice when two connections write to one file", async () => {
    const path = nextPath();
    const first = createSqliteCostStore({ path, keyIndex: { mergeAt: 200, mergeChunk: 64 } });
    const second = createSqliteCostStore({ path, keyIndex: { mergeAt: 200, mergeChunk: 64 } });
    try {
      const records = generateCostRecords(13, 1_200);
      const counts = { inserted: 0, existing: 0 };
      // Overlapping halves, interleaved batch by batch between the two connections.
      for (let i = 0; i < records.length; i += 40) {
        for (const [store, batch] of [
          [first, records.slice(i, i + 40)],
          [second, records.slice(Math.max(0, i - 20), i + 20)],
        ] as const) {
          for (const result of await store.insertRecords(batch, T1)) counts[result.kind] += 1;
        }
      }
      expect(counts.inserted).toBe(1_200);
      expect(await storedCount(first)).toBe(1_200);
      expect(await storedCount(second)).toBe(1_200);
      expect(peek(path).records).toBe(1_200);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it("forgets the ids of a batch that rolled back", async () => {
    const store = createSqliteCostStore({ path: ":memory:" });
    try {
      const bad = makeRecord("bad", { cost: { currency: "USD", nanos: 2n ** 100n } });
      await expect(store.insertRecords([makeRecord("kept-out"), bad], T1)).rejects.toThrow();
      expect(await store.insertRecords([makeRecord("kept-out")], T2)).toEqual([{ kind: "inserted" }]);
      expect(await store.insertRecords([makeRecord("kept-out")], T2)).toEqual([{ kind: "existing", stored: { ...makeRecord("kept-out"), receivedAtMs: T2 } }]);
    } finally {
      await store.close();
    }
  });

  it("takes over a database written before the two levels: every earlier id counts as merged", async () => {
    const path = nextPath();
    const records = generateCostRecords(14, 500);
    const old = createSqliteCostStore({ path });
    await insertInBatches(old, records, 100, T1);
    await old.close();
    // Back to schema 3: its indexes, its fully written record_keys, no merged position.
    const db = new Database(path);
    db.exec(`
      DROP INDEX records_minute;
      CREATE INDEX records_cluster_ts ON records (cluster_id, ts_ms);
      CREATE INDEX records_ts ON records (ts_ms);
      DELETE FROM settings WHERE name = 'record_keys_merged_seq';
      DELETE FROM schema_migrations WHERE version = 4;
    `);
    const addKey = db.prepare("INSERT OR IGNORE INTO record_keys (key_hash, seq) VALUES (?, ?)");
    for (const [seq, id] of db.prepare("SELECT seq, id FROM records").raw().all() as [number, string][]) addKey.run(idHash(id), seq);
    db.close();

    const upgraded = createSqliteCostStore({ path });
    try {
      expect(peek(path).mergedSeq).toBe("500");
      expect(await insertInBatches(upgraded, records, 250, T2)).toEqual({ inserted: 0, existing: 500 });
      const listed = await upgraded.listRecords({ ...EVERYTHING, limit: 1_000 });
      expect(listed.records.map((r) => r.id).sort()).toEqual(records.map((r) => r.id).sort());
    } finally {
      await upgraded.close();
    }
  });
});
