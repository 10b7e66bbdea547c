import { Long } from "mongodb";
import { describe, expect, it } from "vitest";
import { rollupDeltas } from "../../src/domain/rollup.js";
import {
  bigIntFromStored,
  clusterRollupId,
  detailRollupId,
  numberFromStored,
  recordFromDocument,
  recordToDocument,
  rollupWrites,
} from "../../src/store/mongo/documents.js";
import { createArrivalSequence } from "../../src/store/mongo/arrival-order.js";
import { planInsert } from "../../src/store/mongo/insert-plan.js";
import { makeRecord } from "../support/cost-fixtures.js";

const AT = Date.UTC(2026, 2, 8, 5, 30, 12, 345);
const T1 = Date.UTC(2026, 2, 8, 6);

describe("recordToDocument() and recordFromDocument()", () => {
  it("store units and nanos as Int64 (never doubles) and read them back exactly, also past 2^53", () => {
    for (const nanos of [0n, 1n, -1n, 2_000_000n, 999_999_999n, -1_999_999_999n, 1_000_000_000_999_999_999n, 2n ** 62n + 7n, -(2n ** 62n)]) {
      const record = makeRecord("r", { cost: { currency: "USD", nanos } });
      const doc = recordToDocument(record, T1, 42);
      expect(Long.isLong(doc.units) && Long.isLong(doc.nanos)).toBe(true);
      expect(recordFromDocument(doc)).toEqual({ ...record, receivedAtMs: T1 });
      // As the driver may hand them back: promoted to numbers when they fit, bigints with useBigInt64.
      const promoted = { ...doc, units: bigIntFromStored(doc.units), nanos: Number(bigIntFromStored(doc.nanos)) };
      expect(recordFromDocument(promoted).cost.nanos).toBe(nanos);
    }
  });

  it("keeps the sign of the amount on both parts, as google.type.Money does", () => {
    const doc = recordToDocument(makeRecord("neg", { cost: { currency: "EUR", nanos: -1_250_000_000n } }), T1, 0);
    expect([doc.units.toString(), doc.nanos.toString()]).toEqual(["-1", "-250000000"]);
  });

  it("refuses an amount beyond 64 bits rather than wrapping it", () => {
    expect(() => recordToDocument(makeRecord("huge", { cost: { currency: "USD", nanos: 2n ** 100n } }), T1, 0)).toThrow(RangeError);
  });

  it("uses the client's id as _id, so the primary key is the idempotency key", () => {
    expect(recordToDocument(makeRecord("ключ 1/ü"), T1, 0)._id).toBe("ключ 1/ü");
  });
});

describe("bigIntFromStored() and numberFromStored()", () => {
  it("accept numbers, Longs and bigints, and refuse what is not an exact integer", () => {
    expect(bigIntFromStored(Long.fromString("9223372036854775807"))).toBe(9_223_372_036_854_775_807n);
    expect(bigIntFromStored(12)).toBe(12n);
    expect(bigIntFromStored(-5n)).toBe(-5n);
    expect(() => bigIntFromStored(1.5)).toThrow(RangeError);
    expect(() => bigIntFromStored(2 ** 60)).toThrow(RangeError);
    expect(() => bigIntFromStored("12")).toThrow(TypeError);
    expect(() => bigIntFromStored(null)).toThrow(TypeError);
    expect(numberFromStored(Long.fromNumber(2_000))).toBe(2_000);
    expect(() => numberFromStored(Long.fromString("9007199254740993"))).toThrow(RangeError);
  });
});

describe("rollupWrites()", () => {
  it("makes one $inc upsert per roll-up document, the key fields in the filter, totals with $max of the commit instant", () => {
    const records = [
      makeRecord("a", { timestampMs: AT }),
      makeRecord("b", { timestampMs: AT + 1_000, cost: { currency: "USD", nanos: 1_500_000_000n } }),
      makeRecord("c", { timestampMs: AT, provider: "anthropic" }),
    ];
    const writes = rollupWrites(rollupDeltas(records), T1);
    // One minute, hour and day bucket for the cluster; per provider for the detail levels.
    expect(writes.cluster).toHaveLength(3);
    expect(writes.detail).toHaveLength(4);
    expect(writes.totals).toHaveLength(1);
    const minute = writes.cluster.find((w) => w.filter.level === "minute");
    expect(minute?.filter).toEqual({
      _id: clusterRollupId("minute", "alpha", Date.UTC(2026, 2, 8, 5, 30), "USD"),
      level: "minute",
      cluster_id: "alpha",
      bucket_start: Date.UTC(2026, 2, 8, 5, 30),
      currency: "USD",
    });
    expect(minute?.update.$inc.units.toString()).toBe("1");
    expect(minute?.update.$inc.nanos.toString()).toBe("504000000");
    expect(minute?.update.$inc.record_count).toBe(3);
    expect(writes.totals[0]?.update.$max).toEqual({ last_update_ms: T1 });
    expect(writes.cluster.every((w) => w.update.$max === undefined)).toBe(true);
  });

  it("builds ids that no field content can confuse", () => {
    expect(detailRollupId("hour", "a", 0, "USD", "b\u0000c", "d", "")).not.toBe(detailRollupId("hour", "a", 0, "USD", "b", "c\u0000d", ""));
    expect(clusterRollupId("hour", 'x","USD', 0, "EUR")).not.toBe(clusterRollupId("hour", "x", 0, '","EUR'));
  });
});

describe("planInsert()", () => {
  it("inserts new ids with consecutive arrival keys, answers stored and repeated ids with the record kept", () => {
    const stored = recordToDocument(makeRecord("old", { clusterId: "beta" }), T1 - 5_000, 7);
    const a = makeRecord("a");
    const plan = planInsert([a, makeRecord("old"), makeRecord("a", { clusterId: "other" }), makeRecord("b")], [stored], T1, 100);
    expect(plan.results).toEqual([
      { kind: "inserted" },
      { kind: "existing", stored: recordFromDocument(stored) },
      { kind: "existing", stored: { ...a, receivedAtMs: T1 } },
      { kind: "inserted" },
    ]);
    expect(plan.documents.map((d) => [d._id, d.arrival])).toEqual([
      ["a", 100],
      ["b", 103],
    ]);
    expect(plan.rollups.totals.map((t) => t.update.$inc.record_count)).toEqual([2]);
  });
});

describe("createArrivalSequence()", () => {
  it("hands out increasing keys: by commit instant, and after the previous batch even if the clock stalls or steps back", () => {
    const arrivals = createArrivalSequence();
    const first = arrivals.take(T1, 3);
    expect(first).toBe(T1 * 1_024);
    const second = arrivals.take(T1, 2);
    expect(second).toBe(first + 3);
    const third = arrivals.take(T1 - 60_000, 5_000);
    expect(third).toBe(second + 2);
    expect(arrivals.take(T1 + 1, 1)).toBe(third + 5_000);
    expect(arrivals.take(T1 + 60_000, 1)).toBe((T1 + 60_000) * 1_024);
  });

  it("stays an exact JS number for centuries of commit instants", () => {
    expect(Number.isSafeInteger(createArrivalSequence().take(Date.UTC(2200, 0, 1), 1_000_000))).toBe(true);
  });
});
