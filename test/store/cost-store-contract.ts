import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../src/core/errors.js";
import type { CostStore, GroupField, SumFilter } from "../../src/core/cost-store.js";
import { sumRange } from "../../src/core/range-sum.js";
import type { BucketLevel } from "../../src/domain/bucket-plan.js";
import { BUCKET_MS } from "../../src/domain/bucket-plan.js";
import type { CostRecord, StoredCostRecord } from "../../src/domain/cost-record.js";
import { DAY_MS, HOUR_MS, MINUTE_MS, type TimeRange } from "../../src/domain/time.js";
import {
  FIXTURE_CLUSTERS,
  FIXTURE_SPAN_MS,
  FIXTURE_START_MS,
  bruteForceSums,
  generateCostRecords,
  makeRecord,
  sortSums,
  sumsFromRows,
} from "../support/cost-fixtures.js";
import { createSeededRandom } from "../support/seeded-random.js";

/** Commit instants the suite passes as receivedAtMs. */
const T1 = Date.UTC(2026, 2, 8, 6, 0, 0);
const T2 = Date.UTC(2026, 2, 8, 6, 0, 5);
const T3 = Date.UTC(2026, 2, 8, 6, 0, 9);
/** An instant that lies in one minute, hour and day bucket with the default record's. */
const AT = Date.UTC(2026, 2, 8, 5, 30, 12, 345);
/** A range that holds every timestamp the suite uses, aligned to days. */
const EVERYTHING: TimeRange = { fromMs: Date.UTC(2025, 11, 1), toMs: Date.UTC(2026, 5, 1) };

const FIXTURE_SEED = 424_242;
const FIXTURE_SIZE = 2_000;
const FIXTURE_BATCH = 250;
const FIXTURE_RECEIVED_MS = Date.UTC(2026, 2, 15, 12);

const CLUSTER_LEVELS: readonly BucketLevel[] = ["minute", "hour", "day"];
const DETAIL_LEVELS: readonly BucketLevel[] = ["hour", "day"];
const ALL_GROUPS: readonly GroupField[] = ["cluster", "provider", "operation", "model"];

function stored(record: CostRecord, receivedAtMs: number): StoredCostRecord {
  return { ...record, receivedAtMs };
}

/** Every record of a range, following `next` until the last page. */
async function listAll(store: CostStore, query: { fromMs: number; toMs: number; limit: number; clusterIds?: readonly string[] }): Promise<StoredCostRecord[]> {
  const out: StoredCostRecord[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 100_000; pages++) {
    const page = await store.listRecords({ ...query, after });
    expect(page.records.length).toBeLessThanOrEqual(query.limit);
    out.push(...page.records);
    if (page.next === undefined) return out;
    after = page.next;
  }
  throw new Error("listRecords never reached its last page");
}

/** What every sum of a store says about a set of records, to compare before and after a change. */
async function snapshot(store: CostStore): Promise<unknown> {
  const rollups = [];
  for (const level of CLUSTER_LEVELS) {
    rollups.push(sumsFromRows(await store.sumRollups({ scope: "cluster", level, ...EVERYTHING, filter: {}, groupBy: ["cluster"], perBucket: true })));
  }
  for (const level of DETAIL_LEVELS) {
    rollups.push(sumsFromRows(await store.sumRollups({ scope: "detail", level, ...EVERYTHING, filter: {}, groupBy: ALL_GROUPS, perBucket: true })));
  }
  const clusters = await store.listClusters({ limit: 1_000 });
  return {
    rollups,
    records: sumsFromRows(await store.sumRecords({ ...EVERYTHING, filter: {}, groupBy: ALL_GROUPS })),
    clusters,
    totals: await store.clusterTotals(clusters),
    listing: await listAll(store, { ...EVERYTHING, limit: 1_000 }),
  };
}

/**
 * States the CostStore contract once for every adapter. `open` must give a new, empty
 * store on each call; the suite closes every store it opens. A MongoDB adapter runs it as
 * `describe.skipIf(!process.env.MONGODB_URI)("mongo", () => describeCostStoreContract(...))`.
 */
export function describeCostStoreContract(name: string, open: () => Promise<CostStore>): void {
  describe(`CostStore contract: ${name}`, () => {
    const opened: CostStore[] = [];
    async function fresh(): Promise<CostStore> {
      const store = await open();
      opened.push(store);
      return store;
    }
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    describe("insertRecords()", () => {
      it("returns one result per record, in order: inserted for a new id, existing for a stored one", async () => {
        const store = await fresh();
        const a = makeRecord("a");
        const b = makeRecord("b", { clusterId: "beta" });
        const c = makeRecord("c");
        const d = makeRecord("d", { cost: { currency: "EUR", nanos: 7n } });
        expect(await store.insertRecords([a, b], T1)).toEqual([{ kind: "inserted" }, { kind: "inserted" }]);
        expect(await store.insertRecords([b, c, a, d], T2)).toEqual([
          { kind: "existing", stored: stored(b, T1) },
          { kind: "inserted" },
          { kind: "existing", stored: stored(a, T1) },
          { kind: "inserted" },
        ]);
      });

      it("answers a re-sent id with the content and receivedAtMs of its first commit, whatever the new content", async () => {
        const store = await fresh();
        const first = makeRecord("r-1", { traceId: "trace-1", metadataJson: '{"team":"core"}' });
        const conflicting = makeRecord("r-1", {
          clusterId: "beta",
          provider: "anthropic",
          operation: "embed",
          model: "",
          cost: { currency: "EUR", nanos: 9_000_000_000n },
          timestampMs: AT + DAY_MS,
          traceId: "",
          metadataJson: "",
        });
        await store.insertRecords([first], T1);
        expect(await store.insertRecords([conflicting], T2)).toEqual([{ kind: "existing", stored: stored(first, T1) }]);
        expect(await store.insertRecords([first], T3)).toEqual([{ kind: "existing", stored: stored(first, T1) }]);
        expect(await listAll(store, { ...EVERYTHING, limit: 10 })).toEqual([stored(first, T1)]);
      });

      it("changes no sum, total or listing when a batch only re-sends stored ids", async () => {
        const store = await fresh();
        const records = generateCostRecords(7, 60);
        await store.insertRecords(records, T1);
        const before = await snapshot(store);
        // Half of them re-sent as they were, half with other content: all are retries or conflicts.
        const resent = records.map((r, i) => (i % 2 === 0 ? r : { ...r, cost: { currency: r.cost.currency, nanos: r.cost.nanos + 1n }, clusterId: "zeta" }));
        const results = await store.insertRecords(resent, T2);
        expect(results).toEqual(records.map((r) => ({ kind: "existing", stored: stored(r, T1) })));
        expect(await snapshot(store)).toEqual(before);
      });

      it("counts an id repeated inside one batch once, keeping its first occurrence", async () => {
        const store = await fresh();
        const a = makeRecord("a", { cost: { currency: "USD", nanos: 1_000_000_000n } });
        const again = makeRecord("a", { cost: { currency: "USD", nanos: 5_000_000_000n } });
        const b = makeRecord("b", { cost: { currency: "USD", nanos: 250_000_000n } });
        expect(await store.insertRecords([a, again, b, a], T1)).toEqual([
          { kind: "inserted" },
          { kind: "existing", stored: stored(a, T1) },
          { kind: "inserted" },
          { kind: "existing", stored: stored(a, T1) },
        ]);
        const expected = [{ clusterId: "", provider: "", operation: "", model: "", currency: "USD", bucketStartMs: 0, nanos: 1_250_000_000n, count: 2 }];
        expect(sumsFromRows(await store.sumRecords({ ...EVERYTHING, filter: {}, groupBy: [] }))).toEqual(expected);
        for (const level of CLUSTER_LEVELS) {
          expect(sumsFromRows(await store.sumRollups({ scope: "cluster", level, ...EVERYTHING, filter: {}, groupBy: [] }))).toEqual(expected);
        }
        for (const level of DETAIL_LEVELS) {
          expect(sumsFromRows(await store.sumRollups({ scope: "detail", level, ...EVERYTHING, filter: {}, groupBy: [] }))).toEqual(expected);
        }
        expect((await store.clusterTotals(["alpha"])).map((t) => [t.currency, t.units * 1_000_000_000n + t.nanos, t.count, t.lastUpdateMs])).toEqual([
          ["USD", 1_250_000_000n, 2, T1],
        ]);
      });

      it("stores every record with a distinct id, even when their content is identical", async () => {
        const store = await fresh();
        const records = ["x", "y", "z"].map((id) => makeRecord(id));
        expect(await store.insertRecords(records, T1)).toEqual([{ kind: "inserted" }, { kind: "inserted" }, { kind: "inserted" }]);
        expect(sumsFromRows(await store.sumRecords({ ...EVERYTHING, filter: {}, groupBy: ["cluster"] }))).toEqual([
          { clusterId: "alpha", provider: "", operation: "", model: "", currency: "USD", bucketStartMs: 0, nanos: 6_000_000n, count: 3 },
        ]);
        expect((await listAll(store, { ...EVERYTHING, limit: 10 })).map((r) => r.id)).toEqual(["x", "y", "z"]);
      });

      it("treats ids that differ only in case or spacing as different records", async () => {
        const store = await fresh();
        const records = ["rec-1", "REC-1", "Rec-1", "rec-1 "].map((id) => makeRecord(id));
        expect(await store.insertRecords(records, T1)).toEqual(records.map(() => ({ kind: "inserted" })));
        expect(await store.insertRecords([makeRecord("REC-1")], T2)).toEqual([{ kind: "existing", stored: stored(records[1] as CostRecord, T1) }]);
      });

      it("resolves an empty batch with no results and stores nothing", async () => {
        const store = await fresh();
        expect(await store.insertRecords([], T1)).toEqual([]);
        expect(await store.listClusters({ limit: 10 })).toEqual([]);
        expect(await store.sumRecords({ ...EVERYTHING, filter: {}, groupBy: [] })).toEqual([]);
      });

      it("keeps a record's content exactly: amounts to the nano, empty fields, metadata, any id text", async () => {
        const store = await fresh();
        const records = [
          makeRecord("ключ 1/ü", { cost: { currency: "USD", nanos: 1_000_000_000_999_999_999n }, timestampMs: AT }),
          makeRecord("tiny", { cost: { currency: "EUR", nanos: 1n }, model: "", timestampMs: AT + 1 }),
          makeRecord("zero", { cost: { currency: "JPY", nanos: 0n }, timestampMs: AT + 2, traceId: "4bf92f3577b34da6a3ce929d0e0e4736" }),
          makeRecord("meta", { timestampMs: AT + 3, metadataJson: '{"a":[1,2,{"b":"c"}],"z":"\\"quoted\\" ✓"}' }),
          makeRecord("old", { timestampMs: Date.UTC(2000, 0, 1) }),
        ];
        await store.insertRecords(records, T1);
        expect(await listAll(store, { fromMs: Date.UTC(2000, 0, 1), toMs: EVERYTHING.toMs, limit: 10 })).toEqual([
          stored(records[4] as CostRecord, T1),
          ...records.slice(0, 4).map((r) => stored(r, T1)),
        ]);
      });

      it("sums amounts whose nanos add past a whole unit exactly", async () => {
        const store = await fresh();
        await store.insertRecords(
          ["n1", "n2", "n3"].map((id) => makeRecord(id, { cost: { currency: "USD", nanos: 999_999_999n } })),
          T1,
        );
        const expected = [{ clusterId: "alpha", provider: "", operation: "", model: "", currency: "USD", bucketStartMs: 0, nanos: 2_999_999_997n, count: 3 }];
        expect(sumsFromRows(await store.sumRecords({ ...EVERYTHING, filter: {}, groupBy: ["cluster"] }))).toEqual(expected);
        expect(sumsFromRows(await store.sumRollups({ scope: "cluster", level: "minute", ...EVERYTHING, filter: {}, groupBy: ["cluster"] }))).toEqual(expected);
        const [total] = await store.clusterTotals(["alpha"]);
        expect(total && total.units * 1_000_000_000n + total.nanos).toBe(2_999_999_997n);
      });

      it("adds 1,000 records of 0.002 to exactly 2", async () => {
        const store = await fresh();
        await store.insertRecords(
          Array.from({ length: 1_000 }, (_, i) => makeRecord(`milli-${i}`, { timestampMs: AT + i * 1_000 })),
          T1,
        );
        const range = { fromMs: AT - 1, toMs: AT + 1_000 * 1_000 };
        expect(await sumRange(store, { range, filter: {}, groupBy: ["cluster"] })).toEqual([
          { clusterId: "alpha", provider: "", operation: "", model: "", currency: "USD", nanos: 2_000_000_000n, count: 1_000 },
        ]);
      });

      it("rejects with StoreUnavailableError once the store is closed", async () => {
        const store = await open();
        await store.insertRecords([makeRecord("a")], T1);
        await store.close();
        await expect(store.insertRecords([makeRecord("b")], T2)).rejects.toBeInstanceOf(StoreUnavailableError);
      });
    });

    describe("currencies", () => {
      it("are never added together: one row per currency in every sum and total", async () => {
        const store = await fresh();
        await store.insertRecords(
          [
            makeRecord("u1", { cost: { currency: "USD", nanos: 1_500_000_000n } }),
            makeRecord("e1", { cost: { currency: "EUR", nanos: 2_250_000_000n } }),
            makeRecord("u2", { cost: { currency: "USD", nanos: 500_000_000n }, timestampMs: AT + 1 }),
          ],
          T1,
        );
        const expected = [
          { clusterId: "alpha", provider: "", operation: "", model: "", currency: "EUR", bucketStartMs: 0, nanos: 2_250_000_000n, count: 1 },
          { clusterId: "alpha", provider: "", operation: "", model: "", currency: "USD", bucketStartMs: 0, nanos: 2_000_000_000n, count: 2 },
        ];
        expect(sumsFromRows(await store.sumRecords({ ...EVERYTHING, filter: {}, groupBy: ["cluster"] }))).toEqual(expected);
        for (const level of CLUSTER_LEVELS) {
          expect(sumsFromRows(await store.sumRollups({ scope: "cluster", level, ...EVERYTHING, filter: {}, groupBy: ["cluster"] }))).toEqual(expected);
        }
        for (const level of DETAIL_LEVELS) {
          expect(sumsFromRows(await store.sumRollups({ scope: "detail", level, ...EVERYTHING, filter: {}, groupBy: ["cluster"] }))).toEqual(expected);
        }
        const totals = [...(await store.clusterTotals(["alpha"]))].sort((a, b) => a.currency.localeCompare(b.currency));
        expect(totals.map((t) => [t.currency, t.units * 1_000_000_000n + t.nanos, t.count])).toEqual([
          ["EUR", 2_250_000_000n, 1],
          ["USD", 2_000_000_000n, 2],
        ]);
        expect(sortSums(await sumRange(store, { range: EVERYTHING, filter: {}, groupBy: [] }))).toEqual([
          { clusterId: "", provider: "", operation: "", model: "", currency: "EUR", nanos: 2_250_000_000n, count: 1 },
          { clusterId: "", provider: "", operation: "", model: "", currency: "USD", nanos: 2_000_000_000n, count: 2 },
        ]);
      });
    });

    describe("clusterTotals()", () => {
      it("gives count, exact sum and the last commit instant per cluster and currency", async () => {
        const store = await fresh();
        await store.insertRecords([makeRecord("a1", { cost: { currency: "USD", nanos: 1_250_000_000n } })], T1);
        await store.insertRecords([makeRecord("a2", { cost: { currency: "USD", nanos: 750_000_000n }, timestampMs: AT - 10 * DAY_MS })], T2);
        await store.insertRecords([makeRecord("b1", { clusterId: "beta", cost: { currency: "EUR", nanos: 3n } })], T2);
        const totals = await store.clusterTotals(["alpha", "beta"]);
        expect([...totals].sort((a, b) => a.clusterId.localeCompare(b.clusterId)).map((t) => ({ ...t, amount: t.units * 1_000_000_000n + t.nanos, units: 0n, nanos: 0n }))).toEqual([
          { clusterId: "alpha", currency: "USD", units: 0n, nanos: 0n, amount: 2_000_000_000n, count: 2, lastUpdateMs: T2 },
          { clusterId: "beta", currency: "EUR", units: 0n, nanos: 0n, amount: 3n, count: 1, lastUpdateMs: T2 },
        ]);
      });

      it("does not move lastUpdateMs for a batch that only re-sends stored records", async () => {
        const store = await fresh();
        await store.insertRecords([makeRecord("a1")], T1);
        await store.insertRecords([makeRecord("a1")], T3);
        expect((await store.clusterTotals(["alpha"])).map((t) => [t.count, t.lastUpdateMs])).toEqual([[1, T1]]);
      });

      it("returns nothing for an empty list or clusters without records", async () => {
        const store = await fresh();
        await store.insertRecords([makeRecord("a1")], T1);
        expect(await store.clusterTotals([])).toEqual([]);
        expect(await store.clusterTotals(["nobody", "alph", "ALPHA"])).toEqual([]);
      });
    });

    describe("listRecords()", () => {
      it("lists records of equal timestamps in commit order, across and within batches", async () => {
        const store = await fresh();
        const at = (id: string, timestampMs = AT): CostRecord => makeRecord(id, { timestampMs });
        await store.insertRecords([at("m"), at("c")], T1);
        await store.insertRecords([at("a"), at("early", AT - 1)], T2);
        await store.insertRecords([at("b"), at("late", AT + 1)], T3);
        const expected = ["early", "m", "c", "a", "b", "late"];
        for (const limit of [1, 2, 4, 100]) {
          expect((await listAll(store, { ...EVERYTHING, limit })).map((r) => r.id)).toEqual(expected);
        }
      });

      it("includes a record at fromMs and excludes one at toMs", async () => {
        const store = await fresh();
        await store.insertRecords(
          [makeRecord("before", { timestampMs: AT - 1 }), makeRecord("from", { timestampMs: AT }), makeRecord("last", { timestampMs: AT + 999 }), makeRecord("to", { timestampMs: AT + 1_000 })],
          T1,
        );
        expect((await listAll(store, { fromMs: AT, toMs: AT + 1_000, limit: 1 })).map((r) => r.id)).toEqual(["from", "last"]);
        expect((await listAll(store, { fromMs: AT, toMs: AT, limit: 10 })).map((r) => r.id)).toEqual([]);
      });

      it("returns an empty last page for an empty store", async () => {
        const store = await fresh();
        expect(await store.listRecords({ ...EVERYTHING, limit: 10 })).toEqual({ records: [] });
      });
    });

    describe("listClusters()", () => {
      it("lists clusters with records in order, after a cursor, at most limit, within clusterIds", async () => {
        const store = await fresh();
        const ids = ["gamma", "alpha", "beta-2", "Zulu", "beta", "0-edge", "delta.eu-1"];
        await store.insertRecords(
          ids.map((clusterId, i) => makeRecord(`r${i}`, { clusterId, cost: { currency: i % 2 ? "EUR" : "USD", nanos: 1n } })),
          T1,
        );
        // A second currency must not list a cluster twice.
        await store.insertRecords([makeRecord("extra", { clusterId: "alpha", cost: { currency: "EUR", nanos: 1n } })], T2);
        const sorted = ["0-edge", "Zulu", "alpha", "beta", "beta-2", "delta.eu-1", "gamma"];
        expect(await store.listClusters({ limit: 100 })).toEqual(sorted);
        expect(await store.listClusters({ limit: 3 })).toEqual(["0-edge", "Zulu", "alpha"]);
        expect(await store.listClusters({ after: "alpha", limit: 100 })).toEqual(["beta", "beta-2", "delta.eu-1", "gamma"]);
        expect(await store.listClusters({ after: "b", limit: 2 })).toEqual(["beta", "beta-2"]);
        expect(await store.listClusters({ after: "gamma", limit: 100 })).toEqual([]);
        expect(await store.listClusters({ limit: 100, clusterIds: ["gamma", "alpha", "nobody"] })).toEqual(["alpha", "gamma"]);
        expect(await store.listClusters({ after: "alpha", limit: 100, clusterIds: ["gamma", "alpha", "beta"] })).toEqual(["beta", "gamma"]);
        expect(await store.listClusters({ limit: 100, clusterIds: [] })).toEqual([]);
        // Paging one at a time visits each cluster once.
        const paged: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await store.listClusters({ after, limit: 1 });
          if (page.length === 0) break;
          paged.push(...page);
          after = page[page.length - 1];
        }
        expect(paged).toEqual(sorted);
      });
    });

    describe("over a fixture of 2,000 generated records", () => {
      const records = generateCostRecords(FIXTURE_SEED, FIXTURE_SIZE);
      const receivedAt = new Map<string, number>();
      const all: TimeRange = { fromMs: Date.UTC(2026, 0, 20), toMs: Date.UTC(2026, 2, 2) };
      let store: CostStore;

      beforeAll(async () => {
        store = await open();
        for (let i = 0; i < records.length; i += FIXTURE_BATCH) {
          const batch = records.slice(i, i + FIXTURE_BATCH);
          const at = FIXTURE_RECEIVED_MS + (i / FIXTURE_BATCH) * 60_000;
          const results = await store.insertRecords(batch, at);
          expect(results.every((r) => r.kind === "inserted")).toBe(true);
          for (const r of batch) receivedAt.set(r.id, at);
        }
      });
      afterAll(async () => {
        await store.close();
      });

      it("spreads over the range the sums use", () => {
        expect(all.fromMs).toBeLessThanOrEqual(FIXTURE_START_MS);
        expect(all.toMs).toBeGreaterThanOrEqual(FIXTURE_START_MS + FIXTURE_SPAN_MS);
        expect(new Set(records.map((r) => r.cost.currency))).toEqual(new Set(["USD", "EUR"]));
        expect(records.some((r) => r.timestampMs % DAY_MS === 0)).toBe(true);
      });

      describe("sumRecords()", () => {
        it.each<{ groupBy: readonly GroupField[] }>([
          { groupBy: [] },
          { groupBy: ["cluster"] },
          { groupBy: ["provider"] },
          { groupBy: ["model", "operation"] },
          { groupBy: ["cluster", "provider", "operation", "model"] },
        ])("grouped by $groupBy equals a brute-force sum of the records", async ({ groupBy }) => {
          const rows = await store.sumRecords({ ...all, filter: {}, groupBy });
          expect(sumsFromRows(rows)).toEqual(bruteForceSums(records, all, {}, groupBy));
        });

        it("counts a record at fromMs and not one at toMs", async () => {
          const day = records.find((r) => r.timestampMs % DAY_MS === 0)?.timestampMs as number;
          const atDay = records.filter((r) => r.timestampMs === day).length;
          expect(atDay).toBeGreaterThan(0);
          const at = sumsFromRows(await store.sumRecords({ fromMs: day, toMs: day + 1, filter: {}, groupBy: [] }));
          expect(at).toEqual(bruteForceSums(records, { fromMs: day, toMs: day + 1 }, {}, []));
          expect(at.reduce((n, s) => n + s.count, 0)).toBe(atDay);
          const before = sumsFromRows(await store.sumRecords({ fromMs: day - DAY_MS, toMs: day, filter: {}, groupBy: [] }));
          expect(before).toEqual(bruteForceSums(records, { fromMs: day - DAY_MS, toMs: day }, {}, []));
        });
      });

      describe("sumRollups()", () => {
        it.each(CLUSTER_LEVELS)("of the cluster scope at %s level equal the records over the whole range", async (level) => {
          const rows = await store.sumRollups({ scope: "cluster", level, ...all, filter: {}, groupBy: ["cluster"] });
          expect(sumsFromRows(rows)).toEqual(bruteForceSums(records, all, {}, ["cluster"]));
          const ungrouped = await store.sumRollups({ scope: "cluster", level, ...all, filter: {}, groupBy: [] });
          expect(sumsFromRows(ungrouped)).toEqual(bruteForceSums(records, all, {}, []));
        });

        it.each(DETAIL_LEVELS)("of the detail scope at %s level, grouped by provider, operation, model and cluster, equal the records", async (level) => {
          for (const groupBy of [ALL_GROUPS, ["provider"], ["operation", "model"], ["cluster", "model"], []] as const) {
            const rows = await store.sumRollups({ scope: "detail", level, ...all, filter: {}, groupBy });
            expect(sumsFromRows(rows)).toEqual(bruteForceSums(records, all, {}, groupBy));
          }
        });

        it("give one row per bucket with perBucket, equal to the records bucketed the same way", async () => {
          const cases: { scope: "cluster" | "detail"; level: BucketLevel; range: TimeRange; groupBy: readonly GroupField[] }[] = [
            { scope: "cluster", level: "day", range: all, groupBy: ["cluster"] },
            { scope: "cluster", level: "hour", range: { fromMs: Date.UTC(2026, 1, 3), toMs: Date.UTC(2026, 1, 6) }, groupBy: [] },
            { scope: "cluster", level: "minute", range: { fromMs: Date.UTC(2026, 1, 10, 4), toMs: Date.UTC(2026, 1, 10, 22) }, groupBy: ["cluster"] },
            { scope: "detail", level: "hour", range: { fromMs: Date.UTC(2026, 1, 3), toMs: Date.UTC(2026, 1, 5) }, groupBy: ALL_GROUPS },
            { scope: "detail", level: "day", range: all, groupBy: ["provider", "model"] },
          ];
          for (const c of cases) {
            const rows = await store.sumRollups({ scope: c.scope, level: c.level, ...c.range, filter: {}, groupBy: c.groupBy, perBucket: true });
            const expected = bruteForceSums(records, c.range, {}, c.groupBy, BUCKET_MS[c.level]);
            expect(expected.length).toBeGreaterThan(10);
            expect(sumsFromRows(rows)).toEqual(expected);
          }
        });

        it("cover only buckets whose start lies in [fromMs, toMs)", async () => {
          // From 30 minutes into an hour to 30 minutes into another: the first partial hour is left out, the last counted whole.
          const fromMs = Date.UTC(2026, 1, 3, 10, 30);
          const toMs = Date.UTC(2026, 1, 4, 15, 30);
          const rows = await store.sumRollups({ scope: "cluster", level: "hour", fromMs, toMs, filter: {}, groupBy: ["cluster"] });
          expect(sumsFromRows(rows)).toEqual(bruteForceSums(records, { fromMs: Date.UTC(2026, 1, 3, 11), toMs: Date.UTC(2026, 1, 4, 16) }, {}, ["cluster"]));
        });
      });

      describe("filters", () => {
        it("clusterIds restricts every sum to those clusters", async () => {
          const filter: SumFilter = { clusterIds: ["gamma", "beta", "nobody"] };
          const expected = bruteForceSums(records, all, filter, ["cluster"]);
          expect(new Set(expected.map((s) => s.clusterId))).toEqual(new Set(["beta", "gamma"]));
          expect(sumsFromRows(await store.sumRecords({ ...all, filter, groupBy: ["cluster"] }))).toEqual(expected);
          for (const level of CLUSTER_LEVELS) {
            expect(sumsFromRows(await store.sumRollups({ scope: "cluster", level, ...all, filter, groupBy: ["cluster"] }))).toEqual(expected);
          }
          for (const level of DETAIL_LEVELS) {
            expect(sumsFromRows(await store.sumRollups({ scope: "detail", level, ...all, filter, groupBy: ALL_GROUPS }))).toEqual(bruteForceSums(records, all, filter, ALL_GROUPS));
          }
        });

        it("an empty clusterIds list matches nothing", async () => {
          const filter: SumFilter = { clusterIds: [] };
          expect(await store.sumRecords({ ...all, filter, groupBy: ["cluster"] })).toEqual([]);
          for (const level of CLUSTER_LEVELS) {
            expect(await store.sumRollups({ scope: "cluster", level, ...all, filter, groupBy: [] })).toEqual([]);
          }
          for (const level of DETAIL_LEVELS) {
            expect(await store.sumRollups({ scope: "detail", level, ...all, filter, groupBy: [] })).toEqual([]);
          }
          expect(await sumRange(store, { range: all, filter, groupBy: [] })).toEqual([]);
          expect(await store.listRecords({ ...all, limit: 10, clusterIds: [] })).toEqual({ records: [] });
        });

        it("currency keeps only that currency", async () => {
          for (const currency of ["EUR", "USD", "JPY"]) {
            const filter: SumFilter = { currency };
            const expected = bruteForceSums(records, all, filter, ["cluster"]);
            expect(sumsFromRows(await store.sumRecords({ ...all, filter, groupBy: ["cluster"] }))).toEqual(expected);
            for (const level of CLUSTER_LEVELS) {
              expect(sumsFromRows(await store.sumRollups({ scope: "cluster", level, ...all, filter, groupBy: ["cluster"] }))).toEqual(expected);
            }
            for (const level of DETAIL_LEVELS) {
              expect(sumsFromRows(await store.sumRollups({ scope: "detail", level, ...all, filter, groupBy: ["cluster"] }))).toEqual(expected);
            }
          }
        });

        it("clusterIds and currency combine", async () => {
          const filter: SumFilter = { clusterIds: ["alpha"], currency: "EUR" };
          const expected = bruteForceSums(records, all, filter, ["cluster", "provider"]);
          expect(expected.every((s) => s.clusterId === "alpha" && s.currency === "EUR")).toBe(true);
          expect(sumsFromRows(await store.sumRecords({ ...all, filter, groupBy: ["cluster", "provider"] }))).toEqual(expected);
          expect(sumsFromRows(await store.sumRollups({ scope: "detail", level: "hour", ...all, filter, groupBy: ["cluster", "provider"] }))).toEqual(expected);
        });
      });

      describe("sumRange() over the store", () => {
        const withoutBucket = (sums: ReturnType<typeof bruteForceSums>) => sums.map(({ bucketStartMs: _, ...rest }) => rest);

        it("equals a brute-force sum over 300 pseudo-random ranges, groupings and filters (roll-ups plus edges are exact)", async () => {
          const random = createSeededRandom(8_675_309);
          const groupings: readonly (readonly GroupField[])[] = [["cluster"], [], ["provider", "operation", "model"], ["cluster", "model"], ALL_GROUPS];
          const filters: readonly SumFilter[] = [{}, {}, { currency: "EUR" }, { clusterIds: ["alpha", "delta.eu-1"] }, { clusterIds: ["beta"], currency: "USD" }];
          const lengths = [30_000, 5 * MINUTE_MS, 3 * HOUR_MS, DAY_MS, 7 * DAY_MS, 30 * DAY_MS, 45 * DAY_MS];
          for (let i = 0; i < 300; i++) {
            let fromMs = all.fromMs - DAY_MS + random.int(0, all.toMs - all.fromMs + DAY_MS);
            let toMs = fromMs + random.int(0, random.pick(lengths));
            // Ends on bucket boundaries, or on a record's own timestamp, are where edge mistakes show.
            const snap = random.next();
            if (snap < 0.15) fromMs -= fromMs % random.pick([MINUTE_MS, HOUR_MS, DAY_MS]);
            else if (snap < 0.3) fromMs = random.pick(records).timestampMs;
            const snapTo = random.next();
            if (snapTo < 0.15) toMs -= toMs % random.pick([MINUTE_MS, HOUR_MS, DAY_MS]);
            else if (snapTo < 0.3) toMs = Math.max(fromMs, random.pick(records).timestampMs);
            const range = { fromMs, toMs: Math.max(fromMs, toMs) };
            const groupBy = random.pick(groupings);
            const filter = random.pick(filters);
            const got = sortSums(await sumRange(store, { range, filter, groupBy }));
            expect(got, `range ${new Date(range.fromMs).toISOString()}..${new Date(range.toMs).toISOString()} by ${groupBy.join(",")}`).toEqual(
              withoutBucket(bruteForceSums(records, range, filter, groupBy)),
            );
          }
        });

        it("equals the brute-force sum for the rolling windows at a fixed instant", async () => {
          const now = Date.UTC(2026, 1, 27, 17, 42, 9, 871);
          for (const days of [1, 7, 30]) {
            const range = { fromMs: now - days * DAY_MS, toMs: now + 5 * MINUTE_MS };
            expect(sortSums(await sumRange(store, { range, filter: {}, groupBy: ["cluster"] }))).toEqual(withoutBucket(bruteForceSums(records, range, {}, ["cluster"])));
            expect(sortSums(await sumRange(store, { range, filter: {}, groupBy: ["provider", "model"] }))).toEqual(
              withoutBucket(bruteForceSums(records, range, {}, ["provider", "model"])),
            );
          }
        });
      });

      describe("listRecords()", () => {
        /** The records of a range in (timestamp, commit order), as stored. */
        function expectedListing(range: TimeRange, clusterIds?: readonly string[]): StoredCostRecord[] {
          return records
            .map((r, index) => ({ r, index }))
            .filter(({ r }) => r.timestampMs >= range.fromMs && r.timestampMs < range.toMs && (clusterIds === undefined || clusterIds.includes(r.clusterId)))
            .sort((a, b) => a.r.timestampMs - b.r.timestampMs || a.index - b.index)
            .map(({ r }) => stored(r, receivedAt.get(r.id) as number));
        }

        it.each([7, 250, 5_000])("pages of %i cover every record of the range exactly once, in (timestamp, commit order)", async (limit) => {
          expect(await listAll(store, { ...all, limit })).toEqual(expectedListing(all));
          const part = { fromMs: Date.UTC(2026, 1, 1), toMs: Date.UTC(2026, 1, 12, 13, 0, 0, 1) };
          expect(await listAll(store, { ...part, limit })).toEqual(expectedListing(part));
        });

        it("respects clusterIds while paging", async () => {
          const clusterIds = ["gamma", "alpha"];
          const listing = await listAll(store, { ...all, limit: 33, clusterIds });
          expect(listing).toEqual(expectedListing(all, clusterIds));
          expect(listing.length).toBeGreaterThan(500);
        });

        it("respects the range bounds at records' own timestamps", async () => {
          const sorted = expectedListing(all);
          const from = (sorted[100] as StoredCostRecord).timestampMs;
          const to = (sorted[400] as StoredCostRecord).timestampMs;
          const listing = await listAll(store, { fromMs: from, toMs: to, limit: 64 });
          expect(listing).toEqual(expectedListing({ fromMs: from, toMs: to }));
          expect(listing[0]?.timestampMs).toBe(from);
          expect(listing.every((r) => r.timestampMs < to)).toBe(true);
        });
      });

      describe("listClusters() and clusterTotals()", () => {
        it("list the fixture's clusters in order", async () => {
          expect(await store.listClusters({ limit: 100 })).toEqual([...FIXTURE_CLUSTERS].sort());
        });

        it("total each cluster and currency like a brute-force sum, with the last commit instant", async () => {
          const totals = await store.clusterTotals([...FIXTURE_CLUSTERS]);
          const got = sortSums(
            totals.map((t) => ({
              clusterId: t.clusterId,
              provider: "",
              operation: "",
              model: "",
              currency: t.currency,
              nanos: t.units * 1_000_000_000n + t.nanos,
              count: t.count,
              lastUpdateMs: t.lastUpdateMs,
            })),
          );
          const expected = withoutBucketAndWithLastUpdate(bruteForceSums(records, EVERYTHING, {}, ["cluster"]));
          expect(got).toEqual(expected);
        });

        function withoutBucketAndWithLastUpdate(sums: ReturnType<typeof bruteForceSums>) {
          return sums.map(({ bucketStartMs: _, ...rest }) => ({
            ...rest,
            lastUpdateMs: Math.max(...records.filter((r) => r.clusterId === rest.clusterId && r.cost.currency === rest.currency).map((r) => receivedAt.get(r.id) as number)),
          }));
        }
      });
    });
  });
}
