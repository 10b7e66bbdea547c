import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Alert } from "../../src/domain/alert.js";
import { DAY_MS } from "../../src/domain/time.js";
import { createMongoCostStore, type MongoCostStore } from "../../src/store/mongo/mongo-cost-store.js";
import { bruteForceSums, generateCostRecords, sumsFromRows } from "../support/cost-fixtures.js";
import { describeCostStoreContract } from "./cost-store-contract.js";
import { describeSqliteParity } from "./mongo-sqlite-parity.js";

// The conformance suite and the MongoDB-only guarantees (several instances on one
// database) against a real MongoDB replica set, e.g. `docker compose up -d mongo` then
// MONGODB_URI="mongodb://localhost:27017/?replicaSet=rs0&directConnection=true".
// Each store gets a database of its own, dropped at the end.

const uri = process.env.MONGODB_URI;
const databases: string[] = [];
const runId = `${process.pid.toString(36)}${Date.now().toString(36)}`;

function nextDatabase(): string {
  const name = `cost_core_test_${runId}_${databases.length + 1}`;
  databases.push(name);
  return name;
}

describe("MongoDB conformance suite", () => {
  beforeAll(() => {
    if (!uri) console.warn("MongoDB conformance suite skipped: set MONGODB_URI to run it");
  });
  it("runs when MONGODB_URI names a replica set", () => {
    expect(uri === undefined || /^mongodb(\+srv)?:\/\//.test(uri)).toBe(true);
  });
});

describe.skipIf(!uri)("MongoDB store on a real server", () => {
  const open = (): Promise<MongoCostStore> => createMongoCostStore({ uri: uri as string, database: nextDatabase() });

  afterAll(async () => {
    const client = new MongoClient(uri as string);
    try {
      for (const name of databases) await client.db(name).dropDatabase();
    } finally {
      await client.close();
    }
  });

  describeCostStoreContract("mongodb", open);
  describeSqliteParity("mongodb", open);

  describe("several instances on one database", () => {
    const T = Date.UTC(2026, 2, 8, 6);
    let a: MongoCostStore;
    let b: MongoCostStore;
    beforeAll(async () => {
      const database = nextDatabase();
      a = await createMongoCostStore({ uri: uri as string, database });
      b = await createMongoCostStore({ uri: uri as string, database });
    });
    afterAll(async () => {
      await Promise.all([a.close(), b.close()]);
    });

    it("count each id once when two instances insert overlapping batches at the same time", async () => {
      const records = generateCostRecords(2_024, 600);
      const batches = [records.slice(0, 400), records.slice(200, 600), records.slice(100, 300), records.slice(350, 500)];
      const results = await Promise.all(batches.map((batch, i) => (i % 2 ? b : a).insertRecords(batch, T + i)));
      const inserted = results.flat().filter((r) => r.kind === "inserted").length;
      expect(inserted).toBe(records.length);
      const all = { fromMs: Date.UTC(2026, 0, 1), toMs: Date.UTC(2026, 3, 1) };
      expect(sumsFromRows(await a.sumRecords({ ...all, filter: {}, groupBy: ["cluster"] }))).toEqual(bruteForceSums(records, all, {}, ["cluster"]));
      expect(sumsFromRows(await b.sumRollups({ scope: "detail", level: "day", ...all, filter: {}, groupBy: ["cluster", "provider"] }))).toEqual(
        bruteForceSums(records, all, {}, ["cluster", "provider"]),
      );
    });

    it("raise an alert once when two instances insert the same alert key at the same time", async () => {
      const base: Alert = {
        id: "race-a",
        clusterId: "alpha",
        budgetId: "budget-race",
        kind: "exceeded",
        thresholdPercent: 100,
        threshold: { currency: "USD", nanos: 1n },
        currentCost: { currency: "USD", nanos: 2n },
        percent: 200,
        period: "daily",
        periodStartMs: T,
        periodEndMs: T + DAY_MS,
        triggeredAtMs: T,
        acknowledged: false,
        acknowledgedBy: "",
        acknowledgedAtMs: 0,
        acknowledgeNote: "",
      };
      const outcomes = await Promise.all([a.insertAlert(base, T), b.insertAlert({ ...base, id: "race-b" }, T)]);
      expect(outcomes.filter((o) => o.created)).toHaveLength(1);
      expect(outcomes[0]?.alert.id).toBe(outcomes[1]?.alert.id);
      expect(await a.alertKeysForPeriod("budget-race", T)).toEqual(new Set(["budget-race|daily|" + T + "|exceeded|100"]));
    });

    it("hand out feed cursors in commit order: a reader following along never sees a gap", async () => {
      const start = Number((await a.latestAlertCursor()) || "0");
      const seen: number[] = [];
      let writing = true;
      const reader = (async () => {
        let after = String(start);
        while (writing || seen.length < 40) {
          const { events } = await b.readAlertEvents({ after, limit: 100 });
          for (const event of events) {
            seen.push(Number(event.cursor));
            after = event.cursor;
          }
          if (events.length === 0 && !writing) break;
        }
      })();
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? a : b).insertAlert(
            {
              id: `feed-${i}`,
              clusterId: "alpha",
              budgetId: `budget-feed-${i}`,
              kind: "threshold",
              thresholdPercent: 50,
              threshold: { currency: "USD", nanos: 1n },
              currentCost: { currency: "USD", nanos: 1n },
              percent: 50,
              period: "daily",
              periodStartMs: T,
              periodEndMs: T + DAY_MS,
              triggeredAtMs: T,
              acknowledged: false,
              acknowledgedBy: "",
              acknowledgedAtMs: 0,
              acknowledgeNote: "",
            },
            T,
          ),
        ),
      );
      writing = false;
      await reader;
      expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => start + i + 1));
    });

    it("wake the other instance's feed through the change stream", async () => {
      let wakes = 0;
      const watch = b.watchAlertEventInserts(() => wakes++);
      try {
        // Give the change stream a moment to open before the insert it must see.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        await a.acknowledgeAlert({ alertId: "feed-3", by: "ann", note: "", atMs: T + 1 });
        for (let i = 0; i < 100 && wakes === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
        expect(wakes).toBeGreaterThan(0);
      } finally {
        await watch.close();
      }
    });
  });
});
