import { Long } from "mongodb";
import { Aggregator, find, update } from "mingo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AlertQuery, CostStore, GroupField, InsertResult, RecordPage, RecordPageQuery, RollupRow, RollupSumQuery, SumFilter, SumRow } from "../../src/core/cost-store.js";
import type { Alert, AlertEvent } from "../../src/domain/alert.js";
import type { AuditQuery } from "../../src/domain/audit.js";
import type { BucketLevel } from "../../src/domain/bucket-plan.js";
import type { Budget } from "../../src/domain/budget.js";
import type { CostRecord } from "../../src/domain/cost-record.js";
import { DAY_MS, HOUR_MS, MINUTE_MS, floorTo, type TimeRange } from "../../src/domain/time.js";
import {
  alertEventToDocument,
  alertToDocument,
  auditEventToDocument,
  budgetToDocument,
  clusterTotalFromDocument,
  recordFromDocument,
  type ClusterTotalDocument,
  type RecordDocument,
  type RollupIncrement,
} from "../../src/store/mongo/documents.js";
import { createArrivalSequence } from "../../src/store/mongo/arrival-order.js";
import { batchIds, planInsert } from "../../src/store/mongo/insert-plan.js";
import {
  alertEventsBeforeFilter,
  alertEventsFind,
  alertKeysFind,
  alertPageFind,
  auditPageFind,
  budgetPageFind,
  budgetsForClustersFind,
  clusterListPipeline,
  clusterTotalsFind,
  oldestAlertEventFind,
  recordCursorOf,
  recordPageFind,
  recordSumPipeline,
  rollupCollectionOf,
  rollupRowFromDocument,
  rollupRowsCollectionOf,
  rollupRowsFind,
  rollupSumPipeline,
  sumRowFromGroup,
  type FindSpec,
} from "../../src/store/mongo/pipelines.js";
import { alertPageCursor, feedCursorExpired, feedSeqOf } from "../../src/store/cursors.js";
import { createSqliteCostStore } from "../../src/store/sqlite/sqlite-cost-store.js";
import { FIXTURE_CLUSTERS, generateCostRecords, makeRecord, sumsFromRows } from "../support/cost-fixtures.js";
import { createSeededRandom } from "../support/seeded-random.js";

// Every filter and pipeline the MongoDB adapter runs, built by the same pure functions,
// run through mingo over the documents the adapter would have stored, must answer what
// the SQLite adapter answers for the same operations. mingo sums bigints and Longs to 0,
// so documents are converted to plain numbers first (every fixture value is below 2^53).

type Doc = Record<string, unknown>;

/** A copy with every Long (and bigint) as a number; throws past 2^53 rather than round. */
function plain<T>(value: T): T {
  if (Long.isLong(value) || typeof value === "bigint") {
    const n = Number(BigInt(value.toString()));
    if (!Number.isSafeInteger(n)) throw new RangeError(`${value.toString()} is beyond 2^53: mingo would round it`);
    return n as T;
  }
  if (Array.isArray(value)) return value.map(plain) as T;
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)])) as T;
  }
  return value;
}

/** An in-memory collection queried with mingo the way the adapter queries MongoDB. */
class MingoCollection<T extends Doc = Doc> {
  readonly docs = new Map<unknown, Doc>();

  insert(docs: readonly T[]): void {
    for (const doc of docs) {
      if (this.docs.has(doc._id)) throw new Error(`duplicate _id ${String(doc._id)}`);
      this.docs.set(doc._id, plain(doc));
    }
  }

  /** upsert: true, as MongoDB applies it: a new document starts from the filter's equality fields. */
  upsert(increments: readonly RollupIncrement<Doc>[]): void {
    for (const { filter, update: change } of increments) {
      const f = plain(filter);
      let doc = this.docs.get(f._id);
      if (doc) expect(find([doc], f).all()).toHaveLength(1);
      else {
        doc = { ...f };
        this.docs.set(f._id, doc);
      }
      update(doc, plain(change) as unknown as Parameters<typeof update>[1]);
    }
  }

  find(spec: FindSpec): T[] {
    let cursor = find([...this.docs.values()], spec.filter, spec.projection).sort(spec.sort);
    if (spec.limit !== undefined) cursor = cursor.limit(spec.limit);
    return cursor.all() as T[];
  }

  aggregate(pipeline: Doc[]): Doc[] {
    return new Aggregator(pipeline).run([...this.docs.values()]) as Doc[];
  }

  deleteMany(filter: Doc): number {
    const doomed = find([...this.docs.values()], filter).all();
    for (const doc of doomed) this.docs.delete(doc._id);
    return doomed.length;
  }
}

const SEED = 424_242;
const SIZE = 2_000;
const BATCH = 250;
const RECEIVED_MS = Date.UTC(2026, 2, 15, 12);
const ALL: TimeRange = { fromMs: Date.UTC(2026, 0, 19), toMs: Date.UTC(2026, 2, 3) };
const CLUSTER_LEVELS: readonly BucketLevel[] = ["minute", "hour", "day"];
const DETAIL_LEVELS: readonly BucketLevel[] = ["hour", "day"];
const GROUPINGS: readonly (readonly GroupField[])[] = [
  [],
  ["cluster"],
  ["provider"],
  ["operation", "model"],
  ["cluster", "model"],
  ["cluster", "provider", "operation", "model"],
];
const FILTERS: readonly SumFilter[] = [
  {},
  { currency: "EUR" },
  { currency: "JPY" },
  { clusterIds: ["gamma", "beta", "nobody"] },
  { clusterIds: [] },
  { clusterIds: ["alpha"], currency: "USD" },
];
/** A timestamp of the fixture, to build ranges that start exactly where its buckets start. */
const PIVOT_MS = Date.UTC(2026, 1, 14, 9, 41, 27, 5);
const RANGES: readonly TimeRange[] = [
  ALL,
  { fromMs: floorTo(PIVOT_MS, MINUTE_MS), toMs: floorTo(PIVOT_MS, MINUTE_MS) + 3 * HOUR_MS },
  { fromMs: floorTo(PIVOT_MS, HOUR_MS), toMs: floorTo(PIVOT_MS, HOUR_MS) + 2 * DAY_MS },
  { fromMs: floorTo(PIVOT_MS, DAY_MS), toMs: floorTo(PIVOT_MS, DAY_MS) + 5 * DAY_MS },
  { fromMs: Date.UTC(2026, 1, 3, 10, 30), toMs: Date.UTC(2026, 1, 4, 15, 30) },
  { fromMs: Date.UTC(2026, 1, 10, 4, 7, 13), toMs: Date.UTC(2026, 1, 10, 22, 0, 0, 1) },
  { fromMs: Date.UTC(2026, 1, 20), toMs: Date.UTC(2026, 1, 20) },
];

describe("MongoDB pipelines (through mingo) answer like the SQLite store", () => {
  // One record at PIVOT_MS, so the ranges that start on its buckets are not empty at their start.
  const records = [...generateCostRecords(SEED, SIZE), makeRecord("pivot", { timestampMs: PIVOT_MS })];
  const sqlite: CostStore = createSqliteCostStore({ path: ":memory:" });
  const mongo = {
    records: new MingoCollection<RecordDocument & Doc>(),
    cluster_rollups: new MingoCollection(),
    detail_rollups: new MingoCollection(),
    cluster_totals: new MingoCollection<ClusterTotalDocument & Doc>(),
    budgets: new MingoCollection(),
    alerts: new MingoCollection(),
    alert_events: new MingoCollection(),
    audit_events: new MingoCollection(),
  };
  const arrivals = createArrivalSequence();

  /** What the adapter's insertRecords does in its transaction, against the mingo collections. */
  function insertLikeMongo(batch: readonly CostRecord[], receivedAtMs: number): readonly InsertResult[] {
    const stored = mongo.records.find({ filter: { _id: { $in: batchIds(batch) } }, sort: { _id: 1 } });
    const plan = planInsert(batch, stored, receivedAtMs, arrivals.take(receivedAtMs, batch.length));
    mongo.records.insert(plan.documents as (RecordDocument & Doc)[]);
    mongo.cluster_rollups.upsert(plan.rollups.cluster as unknown as RollupIncrement<Doc>[]);
    mongo.detail_rollups.upsert(plan.rollups.detail as unknown as RollupIncrement<Doc>[]);
    mongo.cluster_totals.upsert(plan.rollups.totals as unknown as RollupIncrement<Doc>[]);
    return plan.results;
  }

  const sumRollupsLikeMongo = (query: RollupSumQuery): SumRow[] =>
    (rollupCollectionOf(query.scope) === "cluster_rollups" ? mongo.cluster_rollups : mongo.detail_rollups).aggregate(rollupSumPipeline(query)).map(sumRowFromGroup);

  function listRecordsLikeMongo(query: RecordPageQuery): RecordPage {
    const docs = mongo.records.find(recordPageFind(query));
    const last = docs[docs.length - 1];
    return { records: docs.map(recordFromDocument), next: docs.length === query.limit && last ? recordCursorOf(last) : undefined };
  }

  beforeAll(async () => {
    for (let i = 0; i < records.length; i += BATCH) {
      const batch = records.slice(i, i + BATCH);
      const at = RECEIVED_MS + (i / BATCH) * 60_000;
      expect(insertLikeMongo(batch, at)).toEqual(await sqlite.insertRecords(batch, at));
    }
  });
  afterAll(async () => {
    await sqlite.close();
  });

  describe("insertRecords (planInsert over the stored documents)", () => {
    it("classifies re-sent ids, ids repeated in a batch and new ids like the SQLite store", async () => {
      const random = createSeededRandom(77);
      const resent = Array.from({ length: 40 }, () => random.pick(records));
      const conflicting = { ...(records[3] as CostRecord), clusterId: "zeta", cost: { currency: "EUR", nanos: 1n } };
      const fresh = [makeRecord("new-1", { timestampMs: Date.UTC(2026, 1, 2, 3, 4, 5) }), makeRecord("new-2", { clusterId: "omega", cost: { currency: "EUR", nanos: 999_999_999n } })];
      const batch = [...resent.slice(0, 20), fresh[0] as CostRecord, conflicting, fresh[0] as CostRecord, fresh[1] as CostRecord, ...resent.slice(20), fresh[1] as CostRecord];
      const at = RECEIVED_MS + DAY_MS;
      const expected = await sqlite.insertRecords(batch, at);
      expect(expected.filter((r) => r.kind === "inserted")).toHaveLength(2);
      expect(insertLikeMongo(batch, at)).toEqual(expected);
      // A batch of nothing but stored ids writes nothing.
      const again = planInsert(fresh, mongo.records.find({ filter: { _id: { $in: batchIds(fresh) } }, sort: { _id: 1 } }), at + 1, 0);
      expect(again.documents).toEqual([]);
      expect(again.rollups).toEqual({ cluster: [], detail: [], totals: [] });
      expect(again.results).toEqual(await sqlite.insertRecords(fresh, at + 1));
    });
  });

  describe("sumRollups", () => {
    it("cluster scope: every level, grouped by cluster or not, per bucket or not, every filter and range", async () => {
      let compared = 0;
      for (const level of CLUSTER_LEVELS) {
        for (const groupBy of [[], ["cluster"]] as const) {
          for (const filter of FILTERS) {
            for (const range of RANGES) {
              for (const perBucket of [false, true]) {
                const query: RollupSumQuery = { scope: "cluster", level, ...range, filter, groupBy, perBucket };
                const expected = sumsFromRows(await sqlite.sumRollups(query));
                expect(sumsFromRows(sumRollupsLikeMongo(query)), JSON.stringify(query)).toEqual(expected);
                compared += expected.length;
              }
            }
          }
        }
      }
      expect(compared).toBeGreaterThan(10_000);
    });

    it("detail scope: every level, every grouping, per bucket or not, every filter and range", async () => {
      let compared = 0;
      for (const level of DETAIL_LEVELS) {
        for (const groupBy of GROUPINGS) {
          for (const filter of FILTERS) {
            for (const range of RANGES) {
              for (const perBucket of [false, true]) {
                const query: RollupSumQuery = { scope: "detail", level, ...range, filter, groupBy, perBucket };
                const expected = sumsFromRows(await sqlite.sumRollups(query));
                expect(sumsFromRows(sumRollupsLikeMongo(query)), JSON.stringify(query)).toEqual(expected);
                compared += expected.length;
              }
            }
          }
        }
      }
      expect(compared).toBeGreaterThan(10_000);
    });

    it("refuses to group the cluster scope by anything but cluster, as SQLite does", async () => {
      const query: RollupSumQuery = { scope: "cluster", level: "hour", ...ALL, filter: {}, groupBy: ["provider"] };
      await expect(sqlite.sumRollups(query)).rejects.toThrow(/only be grouped by cluster/);
      expect(() => rollupSumPipeline(query)).toThrow(/only be grouped by cluster/);
    });
  });

  describe("sumRecords", () => {
    it("every grouping, filter and range, including ranges that start and end on records' own timestamps", async () => {
      const random = createSeededRandom(5);
      const ranges = [...RANGES];
      for (let i = 0; i < 10; i++) {
        const a = random.pick(records).timestampMs;
        const b = random.pick(records).timestampMs;
        ranges.push({ fromMs: Math.min(a, b), toMs: Math.max(a, b) });
      }
      for (const groupBy of GROUPINGS) {
        for (const filter of FILTERS) {
          for (const range of ranges) {
            const query = { ...range, filter, groupBy };
            const got = mongo.records.aggregate(recordSumPipeline(query)).map(sumRowFromGroup);
            expect(sumsFromRows(got), JSON.stringify(query)).toEqual(sumsFromRows(await sqlite.sumRecords(query)));
          }
        }
      }
    });
  });

  describe("listClusters and clusterTotals", () => {
    it("list clusters in order after a cursor, within clusterIds, at most limit", async () => {
      const queries = [
        { limit: 100 },
        { limit: 2 },
        { after: "alpha", limit: 100 },
        { after: "b", limit: 1 },
        { after: "zzz", limit: 10 },
        { limit: 100, clusterIds: ["gamma", "alpha", "nobody"] },
        { after: "alpha", limit: 100, clusterIds: ["gamma", "alpha", "beta"] },
        { limit: 100, clusterIds: [] },
      ];
      for (const query of queries) {
        const got = mongo.cluster_totals.aggregate(clusterListPipeline(query)).map((doc) => String(doc._id));
        expect(got, JSON.stringify(query)).toEqual(await sqlite.listClusters(query));
      }
      expect(await sqlite.listClusters({ limit: 100 })).toEqual([...FIXTURE_CLUSTERS, "omega"].sort());
    });

    it("total each cluster and currency with count and last commit instant", async () => {
      for (const clusterIds of [[...FIXTURE_CLUSTERS, "omega"], ["beta"], ["nobody"], []]) {
        const got = mongo.cluster_totals.find(clusterTotalsFind(clusterIds)).map(clusterTotalFromDocument);
        expect(got).toEqual(await sqlite.clusterTotals(clusterIds));
      }
    });
  });

  describe("listRollupRows", () => {
    it("pages through every roll-up row of each scope once, the same rows as SQLite", async () => {
      const collections = { cluster: mongo.cluster_rollups, detail: mongo.detail_rollups, totals: mongo.cluster_totals };
      const key = (r: RollupRow): string => JSON.stringify({ ...r, units: r.units.toString(), nanos: r.nanos.toString() });
      for (const scope of ["cluster", "detail", "totals"] as const) {
        const got: string[] = [];
        let after: string | undefined;
        do {
          const docs = collections[scope].find(rollupRowsFind({ after, limit: 97 }));
          got.push(...docs.map((doc) => key(rollupRowFromDocument(scope, doc))));
          after = docs.length === 97 ? String(docs[docs.length - 1]?._id) : undefined;
        } while (after !== undefined);
        const expected: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await sqlite.listRollupRows({ scope, after: cursor, limit: 1_000 });
          expected.push(...page.rows.map(key));
          cursor = page.next;
        } while (cursor !== undefined);
        expect(rollupRowsCollectionOf(scope)).toBe({ cluster: "cluster_rollups", detail: "detail_rollups", totals: "cluster_totals" }[scope]);
        expect(got.length).toBe(expected.length);
        expect(got.sort()).toEqual(expected.sort());
      }
    });
  });

  describe("listRecords", () => {
    async function pagesOf(list: (q: RecordPageQuery) => RecordPage | Promise<RecordPage>, query: Omit<RecordPageQuery, "after">): Promise<string[][]> {
      const pages: string[][] = [];
      let after: string | undefined;
      do {
        const page = await list({ ...query, after });
        pages.push(page.records.map((r) => `${r.id}@${r.receivedAtMs}`));
        after = page.next;
      } while (after !== undefined && pages.length < 10_000);
      return pages;
    }

    it("pages through a range in (timestamp, arrival) order, the same pages as SQLite's (timestamp, commit) order", async () => {
      const part = { fromMs: Date.UTC(2026, 1, 1), toMs: Date.UTC(2026, 1, 12, 13, 0, 0, 1) };
      for (const limit of [1, 7, 250, 5_000]) {
        for (const range of [ALL, part]) {
          for (const clusterIds of [undefined, ["gamma", "alpha"], []]) {
            const query = { ...range, limit, clusterIds };
            expect(await pagesOf(listRecordsLikeMongo, query)).toEqual(await pagesOf((q) => sqlite.listRecords(q), query));
          }
        }
      }
    });

    it("returns records exactly as stored, amounts to the nano", async () => {
      const page = listRecordsLikeMongo({ ...ALL, limit: 5_000 });
      expect(page.records).toEqual((await sqlite.listRecords({ ...ALL, limit: 5_000 })).records);
      expect(page.records.length).toBeGreaterThan(SIZE - 10);
    });

    it("starts at fromMs when the cursor lies before the range", async () => {
      const first = listRecordsLikeMongo({ fromMs: ALL.fromMs, toMs: ALL.toMs, limit: 3 });
      const later = { fromMs: Date.UTC(2026, 1, 1), toMs: ALL.toMs, limit: 3, after: first.next };
      expect(listRecordsLikeMongo(later).records).toEqual((await sqlite.listRecords({ ...later, after: undefined })).records);
    });
  });

  describe("budgets", () => {
    const budgets: Budget[] = Array.from({ length: 37 }, (_, i) => ({
      id: `budget-${String(i).padStart(3, "0")}-${["x", "a", "m"][i % 3]}`,
      clusterId: FIXTURE_CLUSTERS[i % FIXTURE_CLUSTERS.length] as string,
      amount: { currency: i % 4 === 0 ? "EUR" : "USD", nanos: BigInt(i + 1) * 1_234_567_891n },
      period: (["daily", "weekly", "monthly"] as const)[i % 3] as Budget["period"],
      thresholds: i % 2 ? [50, 80] : [],
      enabled: i % 5 !== 0,
      timeZone: i % 2 ? "UTC" : "Europe/Berlin",
      createdAtMs: RECEIVED_MS + i,
      updatedAtMs: RECEIVED_MS + i,
    }));

    beforeAll(async () => {
      for (const budget of budgets) await sqlite.putBudget(budget, { actor: "tester", atMs: budget.updatedAtMs });
      mongo.budgets.insert(budgets.map((b) => budgetToDocument(b) as unknown as Doc));
    });

    it("list a page ordered by id, after a cursor, within clusterIds", async () => {
      const queries = [
        { limit: 100 },
        { limit: 5 },
        { after: "budget-010", limit: 7 },
        { after: budgets[20]?.id, limit: 100 },
        { clusterIds: ["beta", "gamma"], limit: 4 },
        { clusterIds: ["beta"], after: "budget-005", limit: 100 },
        { clusterIds: [], limit: 100 },
      ];
      for (const query of queries) {
        const got = mongo.budgets.find(budgetPageFind(query)).map((doc) => (doc as unknown as { budget: unknown }).budget);
        const expected = (await sqlite.listBudgets(query)).map((b) => budgetToDocument(b).budget);
        expect(got, JSON.stringify(query)).toEqual(plain(expected));
      }
    });

    it("find every budget of some clusters", async () => {
      for (const clusterIds of [["alpha"], ["delta.eu-1", "gamma"], [], ["nobody"]]) {
        const got = mongo.budgets.find(budgetsForClustersFind(clusterIds)).map((doc) => (doc as { _id: unknown })._id);
        expect(got).toEqual((await sqlite.budgetsForClusters(clusterIds)).map((b) => b.id));
      }
    });
  });

  describe("alerts, the alert feed and the audit log", () => {
    const random = createSeededRandom(31_337);
    const alerts: Alert[] = [];
    const events: AlertEvent[] = [];
    const T = Date.UTC(2026, 2, 1);

    function makeAlert(i: number): Alert {
      const kind = random.pick(["threshold", "exceeded", "forecast"] as const);
      const thresholdPercent = kind === "threshold" ? random.pick([50, 80, 90]) : 100;
      const periodStartMs = T + random.int(0, 3) * DAY_MS;
      return {
        id: `alert-${random.hex(6)}-${i}`,
        clusterId: random.pick(FIXTURE_CLUSTERS),
        budgetId: `budget-${random.int(0, 4)}`,
        kind,
        thresholdPercent,
        threshold: { currency: "USD", nanos: BigInt(random.int(1, 10_000)) * 1_000_000n },
        currentCost: { currency: "USD", nanos: BigInt(random.int(1, 10_000)) * 1_000_001n },
        percent: random.int(0, 20_000) / 100,
        period: "daily",
        periodStartMs,
        periodEndMs: periodStartMs + DAY_MS,
        // Few distinct instants, so pages cut through ties of equal trigger time.
        triggeredAtMs: periodStartMs + random.int(0, 5) * HOUR_MS,
        acknowledged: false,
        acknowledgedBy: "",
        acknowledgedAtMs: 0,
        acknowledgeNote: "",
      };
    }

    beforeAll(async () => {
      // Event instants grow with the sequence, as they do in service, so retention drops a prefix.
      let eventMs = T;
      for (let i = 0; i < 120; i++) {
        const alert = makeAlert(i);
        const outcome = await sqlite.insertAlert(alert, (eventMs += MINUTE_MS));
        if (outcome.event) events.push(outcome.event);
        if (outcome.created) alerts.push(alert);
        if (alerts.length > 3 && random.chance(0.3)) {
          const target = random.pick(alerts);
          const ack = await sqlite.acknowledgeAlert({ alertId: target.id, by: random.pick(["ann", "bob"]), note: "seen", atMs: (eventMs += MINUTE_MS) });
          if (ack?.event) events.push(ack.event);
        }
      }
      await sqlite.appendAudit([
        { atMs: T, actor: "system", action: "api_key.add", resourceType: "api_key", resourceId: "key-1", clusterId: "", beforeJson: "", afterJson: '{"name":"ci"}' },
      ]);
      // The documents as the adapter stores them: each alert in its final state, each event with its sequence number.
      for (const alert of alerts) mongo.alerts.insert([alertToDocument((await sqlite.getAlert(alert.id)) as Alert) as unknown as Doc]);
      mongo.alert_events.insert(events.map((e) => alertEventToDocument(Number(e.cursor), e.type, e.alert, e.eventMs) as unknown as Doc));
      const audit = await sqlite.listAuditEvents({ limit: 10_000 });
      mongo.audit_events.insert(audit.events.map(({ id, ...entry }) => auditEventToDocument(Number(id), entry) as unknown as Doc));
    });

    it("raised a varied set: duplicate keys refused, some acknowledged, ties in trigger time", () => {
      expect(alerts.length).toBeGreaterThan(40);
      expect(alerts.length).toBeLessThan(120);
      expect(events.some((e) => e.type === "acknowledged")).toBe(true);
      expect(new Set(alerts.map((a) => a.triggeredAtMs)).size).toBeLessThan(alerts.length / 2);
    });

    it("list alerts newest first, by state, cluster and trigger time, page after page", async () => {
      const queries: Omit<AlertQuery, "after">[] = [];
      for (const state of ["active", "acknowledged", "all"] as const) {
        for (const clusterIds of [undefined, ["alpha", "gamma"], []]) {
          for (const limit of [1, 3, 10, 500]) queries.push({ state, clusterIds, limit });
        }
        queries.push({ state, fromMs: T + DAY_MS, toMs: T + 3 * DAY_MS, limit: 4 });
        queries.push({ state, fromMs: T + 2 * DAY_MS + HOUR_MS, limit: 5 });
        queries.push({ state, toMs: T + DAY_MS + 2 * HOUR_MS, limit: 2 });
      }
      for (const query of queries) {
        let after: string | undefined;
        let pages = 0;
        do {
          const expected = await sqlite.listAlerts({ ...query, after });
          // The adapter asks for one more than the page to know whether another page exists.
          const docs = mongo.alerts.find(alertPageFind({ ...query, after, limit: query.limit + 1 }));
          const got = docs.slice(0, query.limit).map((doc) => (doc as unknown as { _id: string })._id);
          expect(got, JSON.stringify({ ...query, after })).toEqual(expected.alerts.map((a) => a.id));
          const last = expected.alerts[expected.alerts.length - 1];
          expect(docs.length > query.limit && last ? alertPageCursor(last) : undefined).toBe(expected.next);
          after = expected.next;
          pages++;
        } while (after !== undefined);
        expect(pages).toBeGreaterThan(0);
      }
    });

    it("reject a page token that is not one, as SQLite does", async () => {
      const query: AlertQuery = { state: "all", limit: 5, after: "not-a-token" };
      await expect(sqlite.listAlerts(query)).rejects.toThrow(/page_token/);
      expect(() => alertPageFind(query)).toThrow(/page_token/);
    });

    it("find the alert keys raised for a budget in a period", async () => {
      for (let b = 0; b < 5; b++) {
        for (let d = 0; d < 4; d++) {
          const budgetId = `budget-${b}`;
          const periodStartMs = T + d * DAY_MS;
          const got = new Set(mongo.alerts.find(alertKeysFind(budgetId, periodStartMs)).map((doc) => (doc as { alert_key: string }).alert_key));
          expect(got).toEqual(await sqlite.alertKeysForPeriod(budgetId, periodStartMs));
        }
      }
    });

    it("read feed events after any cursor in sequence order, the cursors SQLite hands out", async () => {
      const latest = await sqlite.latestAlertCursor();
      expect(latest).toBe(events[events.length - 1]?.cursor);
      for (const after of [undefined, "", "1", "2", events[10]?.cursor, latest]) {
        for (const limit of [1, 7, 1_000]) {
          const expected = await sqlite.readAlertEvents({ after, limit });
          const docs = mongo.alert_events.find(alertEventsFind(feedSeqOf(after), limit));
          expect(docs.map((d) => String(d._id))).toEqual(expected.events.map((e) => e.cursor));
          expect(docs).toEqual(expected.events.map((e) => plain(alertEventToDocument(Number(e.cursor), e.type, e.alert, e.eventMs))));
        }
      }
      expect(() => feedSeqOf("abc")).toThrow(/resume_after/);
      await expect(sqlite.readAlertEvents({ after: "abc", limit: 1 })).rejects.toThrow(/resume_after/);
    });

    it("tell an expired cursor after retention like SQLite, and prune the same events", async () => {
      const cutoff = (events[Math.floor(events.length / 2)] as AlertEvent).eventMs;
      const lastSeq = Number(await sqlite.latestAlertCursor());
      expect(mongo.alert_events.deleteMany(alertEventsBeforeFilter(cutoff))).toBe(await sqlite.pruneAlertEvents(cutoff));
      const [oldest] = mongo.alert_events.find(oldestAlertEventFind());
      const oldestSeq = oldest ? Number(oldest._id) : undefined;
      expect(oldestSeq).toBeGreaterThan(3);
      const verdicts = new Set<boolean>();
      for (const after of ["", "1", "3", ...events.map((e) => e.cursor)]) {
        const expected = await sqlite.readAlertEvents({ after, limit: 5 });
        verdicts.add(expected.expired);
        expect(feedCursorExpired(feedSeqOf(after), oldestSeq, lastSeq), `after ${after}`).toBe(expected.expired);
        expect(mongo.alert_events.find(alertEventsFind(feedSeqOf(after), 5)).map((d) => String(d._id))).toEqual(expected.events.map((e) => e.cursor));
      }
      expect(verdicts).toEqual(new Set([true, false]));
      // Everything pruned: a cursor at the last event is current, an older one expired.
      mongo.alert_events.deleteMany(alertEventsBeforeFilter(Number.MAX_SAFE_INTEGER));
      await sqlite.pruneAlertEvents(Number.MAX_SAFE_INTEGER);
      for (const after of [String(lastSeq), String(lastSeq - 1), "1"]) {
        expect(feedCursorExpired(feedSeqOf(after), undefined, lastSeq)).toBe((await sqlite.readAlertEvents({ after, limit: 5 })).expired);
      }
    });

    it("list the audit log newest first, filtered and paged, with SQLite's ids", async () => {
      const queries: Omit<AuditQuery, "after">[] = [
        { limit: 1_000 },
        { limit: 7 },
        { actor: "bob", limit: 3 },
        { actor: "tester", limit: 10 },
        { resourceType: "alert", limit: 4 },
        { resourceType: "budget", resourceId: "budget-003-x", limit: 10 },
        { clusterIds: ["alpha", "beta"], limit: 6 },
        { clusterIds: [], limit: 6 },
        { fromMs: T, toMs: T + 2 * DAY_MS, limit: 5 },
        { toMs: RECEIVED_MS + 10, limit: 5 },
      ];
      let compared = 0;
      for (const query of queries) {
        let after: string | undefined;
        do {
          const expected = await sqlite.listAuditEvents({ ...query, after });
          const got = mongo.audit_events.find(auditPageFind({ ...query, after })).map((d) => String(d._id));
          expect(got, JSON.stringify({ ...query, after })).toEqual(expected.events.map((e) => e.id));
          compared += got.length;
          after = expected.next;
        } while (after !== undefined);
      }
      expect(compared).toBeGreaterThan(100);
      expect(() => auditPageFind({ limit: 1, after: "x" })).toThrow(/page_token/);
    });
  });
});
