import { describe, expect, it } from "vitest";
import type { CostRecord } from "../../src/domain/cost-record.js";
import { CLUSTER_LEVELS, DETAIL_LEVELS, rollupDeltas } from "../../src/domain/rollup.js";

const AT = Date.UTC(2026, 2, 8, 5, 30, 12, 345);

function record(id: string, changes: Partial<CostRecord> = {}): CostRecord {
  return {
    id,
    clusterId: "alpha",
    provider: "openai",
    operation: "chat",
    model: "gpt-4o",
    cost: { currency: "USD", nanos: 1_250_000_000n },
    timestampMs: AT,
    traceId: "",
    metadataJson: "",
    ...changes,
  };
}

describe("rollupDeltas()", () => {
  it("returns no deltas for no records", () => {
    expect(rollupDeltas([])).toEqual({ cluster: [], detail: [], totals: [] });
  });

  it("splits 1.25 USD into units 1 and nanos 250000000 and buckets it at minute, hour and day starts", () => {
    expect(rollupDeltas([record("r1")])).toEqual({
      cluster: [
        { level: "minute", clusterId: "alpha", currency: "USD", bucketStartMs: Date.UTC(2026, 2, 8, 5, 30), units: 1n, nanos: 250_000_000n, count: 1 },
        { level: "hour", clusterId: "alpha", currency: "USD", bucketStartMs: Date.UTC(2026, 2, 8, 5), units: 1n, nanos: 250_000_000n, count: 1 },
        { level: "day", clusterId: "alpha", currency: "USD", bucketStartMs: Date.UTC(2026, 2, 8), units: 1n, nanos: 250_000_000n, count: 1 },
      ],
      detail: [
        {
          level: "hour",
          clusterId: "alpha",
          currency: "USD",
          provider: "openai",
          operation: "chat",
          model: "gpt-4o",
          bucketStartMs: Date.UTC(2026, 2, 8, 5),
          units: 1n,
          nanos: 250_000_000n,
          count: 1,
        },
        {
          level: "day",
          clusterId: "alpha",
          currency: "USD",
          provider: "openai",
          operation: "chat",
          model: "gpt-4o",
          bucketStartMs: Date.UTC(2026, 2, 8),
          units: 1n,
          nanos: 250_000_000n,
          count: 1,
        },
      ],
      totals: [{ clusterId: "alpha", currency: "USD", units: 1n, nanos: 250_000_000n, count: 1 }],
    });
  });

  it("keeps the levels it documents: minute, hour, day per cluster; hour, day in detail", () => {
    expect(CLUSTER_LEVELS).toEqual(["minute", "hour", "day"]);
    expect(DETAIL_LEVELS).toEqual(["hour", "day"]);
  });

  it("folds a batch into one delta per key holding the exact sum as whole units and nanos", () => {
    const records = [
      record("r1", { cost: { currency: "USD", nanos: 1_250_000_000n } }),
      record("r2", { cost: { currency: "USD", nanos: 999_999_999n }, timestampMs: AT + 10_000 }),
      record("r3", { cost: { currency: "USD", nanos: 2_000_000n }, timestampMs: AT + 50_000 }),
    ];
    const deltas = rollupDeltas(records);
    expect(deltas.totals).toEqual([{ clusterId: "alpha", currency: "USD", units: 2n, nanos: 251_999_999n, count: 3 }]);
    // r3 is in the next minute; all three share the hour and the day.
    expect(deltas.cluster.map((d) => [d.level, d.bucketStartMs, d.units, d.nanos, d.count])).toEqual([
      ["minute", Date.UTC(2026, 2, 8, 5, 30), 2n, 249_999_999n, 2],
      ["hour", Date.UTC(2026, 2, 8, 5), 2n, 251_999_999n, 3],
      ["day", Date.UTC(2026, 2, 8), 2n, 251_999_999n, 3],
      ["minute", Date.UTC(2026, 2, 8, 5, 31), 0n, 2_000_000n, 1],
    ]);
    expect(deltas.detail.map((d) => [d.level, d.bucketStartMs, d.count])).toEqual([
      ["hour", Date.UTC(2026, 2, 8, 5), 3],
      ["day", Date.UTC(2026, 2, 8), 3],
    ]);
  });

  it("never repeats a key within one batch, over many records", () => {
    const records = Array.from({ length: 500 }, (_, i) =>
      record(`r${i}`, {
        clusterId: ["alpha", "beta"][i % 2] as string,
        provider: ["openai", "anthropic", "google"][i % 3] as string,
        model: ["", "m1"][i % 5 === 0 ? 0 : 1] as string,
        cost: { currency: i % 7 === 0 ? "EUR" : "USD", nanos: BigInt(i) * 1_000_001n },
        timestampMs: AT + i * 97_000,
      }),
    );
    const deltas = rollupDeltas(records);
    const clusterKeys = deltas.cluster.map((d) => `${d.level}|${d.bucketStartMs}|${d.clusterId}|${d.currency}`);
    const detailKeys = deltas.detail.map((d) => `${d.level}|${d.bucketStartMs}|${d.clusterId}|${d.currency}|${d.provider}|${d.operation}|${d.model}`);
    const totalKeys = deltas.totals.map((d) => `${d.clusterId}|${d.currency}`);
    expect(new Set(clusterKeys).size).toBe(clusterKeys.length);
    expect(new Set(detailKeys).size).toBe(detailKeys.length);
    expect(new Set(totalKeys).size).toBe(totalKeys.length);
    // Every level of every scope accounts for every record and every nano exactly once.
    const expectedNanos = records.reduce((sum, r) => sum + r.cost.nanos, 0n);
    const nanosOf = (ds: readonly { units: bigint; nanos: bigint }[]): bigint => ds.reduce((s, d) => s + d.units * 1_000_000_000n + d.nanos, 0n);
    const countOf = (ds: readonly { count: number }[]): number => ds.reduce((s, d) => s + d.count, 0);
    for (const level of CLUSTER_LEVELS) {
      const ds = deltas.cluster.filter((d) => d.level === level);
      expect([nanosOf(ds), countOf(ds)]).toEqual([expectedNanos, 500]);
    }
    for (const level of DETAIL_LEVELS) {
      const ds = deltas.detail.filter((d) => d.level === level);
      expect([nanosOf(ds), countOf(ds)]).toEqual([expectedNanos, 500]);
    }
    expect([nanosOf(deltas.totals), countOf(deltas.totals)]).toEqual([expectedNanos, 500]);
    expect(deltas.totals.map((t) => [t.clusterId, t.currency])).toEqual([
      ["alpha", "EUR"],
      ["beta", "USD"],
      ["alpha", "USD"],
      ["beta", "EUR"],
    ]);
  });

  it("keys detail deltas by provider, operation and model, with an empty model as its own key", () => {
    const records = [
      record("r1", { provider: "openai", operation: "chat", model: "gpt-4o" }),
      record("r2", { provider: "openai", operation: "chat", model: "" }),
      record("r3", { provider: "openai", operation: "embed", model: "gpt-4o" }),
      record("r4", { provider: "anthropic", operation: "chat", model: "gpt-4o" }),
      record("r5", { provider: "openai", operation: "chat", model: "gpt-4o" }),
    ];
    const hours = rollupDeltas(records).detail.filter((d) => d.level === "hour");
    expect(hours.map((d) => [d.provider, d.operation, d.model, d.count, d.units, d.nanos])).toEqual([
      ["openai", "chat", "gpt-4o", 2, 2n, 500_000_000n],
      ["openai", "chat", "", 1, 1n, 250_000_000n],
      ["openai", "embed", "gpt-4o", 1, 1n, 250_000_000n],
      ["anthropic", "chat", "gpt-4o", 1, 1n, 250_000_000n],
    ]);
    // The cluster scope does not split by those dimensions.
    expect(rollupDeltas(records).cluster.filter((d) => d.level === "hour").map((d) => d.count)).toEqual([5]);
  });

  it("keeps totals per cluster and currency and never mixes currencies", () => {
    const records = [
      record("r1", { clusterId: "alpha", cost: { currency: "USD", nanos: 1_000_000_000n } }),
      record("r2", { clusterId: "alpha", cost: { currency: "EUR", nanos: 2_000_000_000n } }),
      record("r3", { clusterId: "beta", cost: { currency: "USD", nanos: 3_000_000_000n } }),
      record("r4", { clusterId: "alpha", cost: { currency: "USD", nanos: 500_000_000n } }),
    ];
    const deltas = rollupDeltas(records);
    expect(deltas.totals).toEqual([
      { clusterId: "alpha", currency: "USD", units: 1n, nanos: 500_000_000n, count: 2 },
      { clusterId: "alpha", currency: "EUR", units: 2n, nanos: 0n, count: 1 },
      { clusterId: "beta", currency: "USD", units: 3n, nanos: 0n, count: 1 },
    ]);
    const days = deltas.cluster.filter((d) => d.level === "day");
    expect(days.map((d) => [d.clusterId, d.currency, d.units, d.nanos, d.count])).toEqual([
      ["alpha", "USD", 1n, 500_000_000n, 2],
      ["alpha", "EUR", 2n, 0n, 1],
      ["beta", "USD", 3n, 0n, 1],
    ]);
    const detailDays = deltas.detail.filter((d) => d.level === "day");
    expect(detailDays.map((d) => [d.clusterId, d.currency, d.count])).toEqual([
      ["alpha", "USD", 2],
      ["alpha", "EUR", 1],
      ["beta", "USD", 1],
    ]);
  });

  it("places a record stamped exactly on a boundary in the bucket that starts there", () => {
    const midnight = Date.UTC(2026, 2, 9);
    const deltas = rollupDeltas([record("r1", { timestampMs: midnight }), record("r2", { timestampMs: midnight - 1 })]);
    expect(deltas.cluster.map((d) => [d.level, d.bucketStartMs, d.count])).toEqual([
      ["minute", midnight, 1],
      ["hour", midnight, 1],
      ["day", midnight, 1],
      ["minute", midnight - 60_000, 1],
      ["hour", midnight - 3_600_000, 1],
      ["day", midnight - 86_400_000, 1],
    ]);
  });

  it("gives a negative amount the sign on both parts (-1.25 is units -1, nanos -250000000)", () => {
    const deltas = rollupDeltas([record("r1", { cost: { currency: "USD", nanos: -1_250_000_000n } })]);
    expect(deltas.totals).toEqual([{ clusterId: "alpha", currency: "USD", units: -1n, nanos: -250_000_000n, count: 1 }]);
  });
});
