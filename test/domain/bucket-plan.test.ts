import { describe, expect, it } from "vitest";
import { BUCKET_MS, planBuckets, type BucketLevel, type BucketPlan } from "../../src/domain/bucket-plan.js";
import { CLUSTER_LEVELS, DETAIL_LEVELS } from "../../src/domain/rollup.js";
import { DAY_MS, HOUR_MS, MINUTE_MS, type TimeRange } from "../../src/domain/time.js";
import { createSeededRandom } from "../support/seeded-random.js";

const ALL_LEVELS: readonly BucketLevel[] = ["minute", "hour", "day"];

/** Checks what every plan must be; returns the number of whole buckets it uses. */
function expectValidPlan(range: TimeRange, levels: readonly BucketLevel[], plan: BucketPlan): number {
  const parts = [
    ...plan.buckets.map((b) => ({ fromMs: b.fromMs, toMs: b.toMs })),
    ...plan.raw.map((r) => ({ fromMs: r.fromMs, toMs: r.toMs })),
  ].sort((a, b) => a.fromMs - b.fromMs);
  const length = Math.max(0, range.toMs - range.fromMs);
  // Exactly once: contiguous, non-empty parts from fromMs to toMs.
  let at = range.fromMs;
  for (const part of parts) {
    expect(part.fromMs).toBe(at);
    expect(part.toMs).toBeGreaterThan(part.fromMs);
    at = part.toMs;
  }
  if (length > 0) expect(at).toBe(range.toMs);
  expect(parts.reduce((sum, p) => sum + (p.toMs - p.fromMs), 0)).toBe(length);
  // Both lists are sorted.
  expect(plan.buckets.map((b) => b.fromMs)).toEqual([...plan.buckets.map((b) => b.fromMs)].sort((a, b) => a - b));
  expect(plan.raw.map((r) => r.fromMs)).toEqual([...plan.raw.map((r) => r.fromMs)].sort((a, b) => a - b));
  // Buckets are whole, aligned buckets of a requested level.
  let buckets = 0;
  for (const b of plan.buckets) {
    expect(levels).toContain(b.level);
    expect(Number.isInteger(b.fromMs / BUCKET_MS[b.level])).toBe(true);
    expect(Number.isInteger(b.toMs / BUCKET_MS[b.level])).toBe(true);
    buckets += (b.toMs - b.fromMs) / BUCKET_MS[b.level];
  }
  const sizes = [...new Set(levels)].map((l) => BUCKET_MS[l]).sort((a, b) => a - b);
  const smallest = sizes[0];
  // Raw edges are only what no bucket of the smallest level covers: at most one per side,
  // shorter than one such bucket (or than two when the range holds no whole bucket at all).
  expect(plan.raw.length).toBeLessThanOrEqual(2);
  for (const r of plan.raw) {
    if (smallest === undefined) continue;
    expect(r.toMs - r.fromMs).toBeLessThan(plan.buckets.length > 0 ? smallest : 2 * smallest);
    expect(Math.ceil(r.fromMs / smallest) * smallest + smallest > r.toMs).toBe(true);
  }
  // A run of a smaller level never holds a whole bucket of the next larger level (largest in the middle).
  for (const b of plan.buckets) {
    const larger = sizes.find((s) => s > BUCKET_MS[b.level]);
    if (larger === undefined) continue;
    expect(Math.ceil(b.fromMs / larger) * larger + larger > b.toMs).toBe(true);
  }
  return buckets;
}

describe("planBuckets()", () => {
  it("answers an aligned range of whole days with one day run and no raw parts", () => {
    const range = { fromMs: Date.UTC(2026, 2, 1), toMs: Date.UTC(2026, 2, 8) };
    expect(planBuckets(range, ALL_LEVELS)).toEqual({ buckets: [{ level: "day", ...range }], raw: [] });
  });

  it("answers an hour-aligned range with hour runs around the days and no raw parts", () => {
    const range = { fromMs: Date.UTC(2026, 2, 8, 5), toMs: Date.UTC(2026, 2, 10, 17) };
    expect(planBuckets(range, ALL_LEVELS)).toEqual({
      buckets: [
        { level: "hour", fromMs: Date.UTC(2026, 2, 8, 5), toMs: Date.UTC(2026, 2, 9) },
        { level: "day", fromMs: Date.UTC(2026, 2, 9), toMs: Date.UTC(2026, 2, 10) },
        { level: "hour", fromMs: Date.UTC(2026, 2, 10), toMs: Date.UTC(2026, 2, 10, 17) },
      ],
      raw: [],
    });
  });

  it("answers a minute-aligned range with no raw parts", () => {
    const range = { fromMs: Date.UTC(2026, 2, 8, 5, 30), toMs: Date.UTC(2026, 2, 8, 7, 15) };
    expect(planBuckets(range, ALL_LEVELS)).toEqual({
      buckets: [
        { level: "minute", fromMs: Date.UTC(2026, 2, 8, 5, 30), toMs: Date.UTC(2026, 2, 8, 6) },
        { level: "hour", fromMs: Date.UTC(2026, 2, 8, 6), toMs: Date.UTC(2026, 2, 8, 7) },
        { level: "minute", fromMs: Date.UTC(2026, 2, 8, 7), toMs: Date.UTC(2026, 2, 8, 7, 15) },
      ],
      raw: [],
    });
  });

  it("splits a 30-day window ending at an unaligned instant into days, hours, minutes and sub-minute raw edges", () => {
    const toMs = Date.UTC(2026, 2, 8, 5, 30, 12, 345);
    const range = { fromMs: toMs - 30 * DAY_MS, toMs };
    expect(planBuckets(range, ALL_LEVELS)).toEqual({
      buckets: [
        { level: "minute", fromMs: Date.UTC(2026, 1, 6, 5, 31), toMs: Date.UTC(2026, 1, 6, 6) },
        { level: "hour", fromMs: Date.UTC(2026, 1, 6, 6), toMs: Date.UTC(2026, 1, 7) },
        { level: "day", fromMs: Date.UTC(2026, 1, 7), toMs: Date.UTC(2026, 2, 8) },
        { level: "hour", fromMs: Date.UTC(2026, 2, 8), toMs: Date.UTC(2026, 2, 8, 5) },
        { level: "minute", fromMs: Date.UTC(2026, 2, 8, 5), toMs: Date.UTC(2026, 2, 8, 5, 30) },
      ],
      raw: [
        { fromMs: Date.UTC(2026, 1, 6, 5, 30, 12, 345), toMs: Date.UTC(2026, 1, 6, 5, 31) },
        { fromMs: Date.UTC(2026, 2, 8, 5, 30), toMs: Date.UTC(2026, 2, 8, 5, 30, 12, 345) },
      ],
    });
  });

  it("needs at most 59+23+30+23+59 buckets and sub-minute raw edges for any 30-day window", () => {
    const ends = [
      Date.UTC(2026, 2, 8, 5, 30),
      Date.UTC(2026, 2, 8, 0, 0, 0, 1),
      Date.UTC(2026, 2, 8, 23, 59, 59, 999),
      Date.UTC(2026, 2, 8, 0, 0, 59, 999),
      Date.UTC(2026, 2, 8, 12, 0, 0, 1),
      Date.UTC(2026, 11, 31, 23, 59, 30),
    ];
    for (const toMs of ends) {
      const range = { fromMs: toMs - 30 * DAY_MS, toMs };
      const plan = planBuckets(range, ALL_LEVELS);
      const buckets = expectValidPlan(range, ALL_LEVELS, plan);
      expect(buckets).toBeLessThanOrEqual(59 + 23 + 30 + 23 + 59);
      expect(plan.buckets.length).toBeLessThanOrEqual(5);
      for (const r of plan.raw) expect(r.toMs - r.fromMs).toBeLessThan(MINUTE_MS);
    }
  });

  it("uses 59 minutes, 23 hours, 28 days, 23 hours and 59 minutes from just after a midnight to just before one", () => {
    const range = { fromMs: Date.UTC(2026, 1, 6, 0, 0, 0, 1), toMs: Date.UTC(2026, 2, 7, 23, 59, 59, 999) };
    const plan = planBuckets(range, ALL_LEVELS);
    expect(expectValidPlan(range, ALL_LEVELS, plan)).toBe(59 + 23 + 28 + 23 + 59);
    expect(plan.buckets.map((b) => [b.level, (b.toMs - b.fromMs) / BUCKET_MS[b.level]])).toEqual([
      ["minute", 59],
      ["hour", 23],
      ["day", 28],
      ["hour", 23],
      ["minute", 59],
    ]);
    expect(plan.raw).toEqual([
      { fromMs: range.fromMs, toMs: Date.UTC(2026, 1, 6, 0, 1) },
      { fromMs: Date.UTC(2026, 2, 7, 23, 59), toMs: range.toMs },
    ]);
  });

  it("leaves raw edges shorter than an hour with the detail levels (hour, day)", () => {
    const toMs = Date.UTC(2026, 2, 8, 5, 30, 12, 345);
    const range = { fromMs: toMs - 7 * DAY_MS, toMs };
    expect(planBuckets(range, DETAIL_LEVELS)).toEqual({
      buckets: [
        { level: "hour", fromMs: Date.UTC(2026, 2, 1, 6), toMs: Date.UTC(2026, 2, 2) },
        { level: "day", fromMs: Date.UTC(2026, 2, 2), toMs: Date.UTC(2026, 2, 8) },
        { level: "hour", fromMs: Date.UTC(2026, 2, 8), toMs: Date.UTC(2026, 2, 8, 5) },
      ],
      raw: [
        { fromMs: Date.UTC(2026, 2, 1, 5, 30, 12, 345), toMs: Date.UTC(2026, 2, 1, 6) },
        { fromMs: Date.UTC(2026, 2, 8, 5), toMs: Date.UTC(2026, 2, 8, 5, 30, 12, 345) },
      ],
    });
  });

  it("uses smaller buckets across a day boundary when no whole day fits", () => {
    const range = { fromMs: Date.UTC(2026, 2, 8, 23, 30), toMs: Date.UTC(2026, 2, 9, 1, 15) };
    expect(planBuckets(range, ALL_LEVELS)).toEqual({
      buckets: [
        { level: "minute", fromMs: Date.UTC(2026, 2, 8, 23, 30), toMs: Date.UTC(2026, 2, 9) },
        { level: "hour", fromMs: Date.UTC(2026, 2, 9), toMs: Date.UTC(2026, 2, 9, 1) },
        { level: "minute", fromMs: Date.UTC(2026, 2, 9, 1), toMs: Date.UTC(2026, 2, 9, 1, 15) },
      ],
      raw: [],
    });
  });

  it("returns the whole range as raw when it is shorter than the smallest bucket", () => {
    const range = { fromMs: Date.UTC(2026, 2, 8, 5, 30, 10), toMs: Date.UTC(2026, 2, 8, 5, 30, 50) };
    expect(planBuckets(range, ALL_LEVELS)).toEqual({ buckets: [], raw: [range] });
  });

  it("returns the whole range as raw when no levels are given", () => {
    const range = { fromMs: Date.UTC(2026, 2, 1), toMs: Date.UTC(2026, 2, 8) };
    expect(planBuckets(range, [])).toEqual({ buckets: [], raw: [range] });
  });

  it("returns an empty plan for an empty or inverted range", () => {
    const at = Date.UTC(2026, 2, 8, 5, 30);
    expect(planBuckets({ fromMs: at, toMs: at }, ALL_LEVELS)).toEqual({ buckets: [], raw: [] });
    expect(planBuckets({ fromMs: at + HOUR_MS, toMs: at }, ALL_LEVELS)).toEqual({ buckets: [], raw: [] });
  });

  it("gives the same plan whatever order the levels are listed in", () => {
    const range = { fromMs: Date.UTC(2026, 1, 3, 4, 5, 6, 7), toMs: Date.UTC(2026, 2, 8, 9, 10, 11, 12) };
    const expected = planBuckets(range, ["minute", "hour", "day"]);
    expect(planBuckets(range, ["day", "minute", "hour"])).toEqual(expected);
    expect(planBuckets(range, ["hour", "day", "minute"])).toEqual(expected);
    expect(planBuckets(range, CLUSTER_LEVELS)).toEqual(expected);
  });

  it("handles instants before the epoch with epoch-aligned buckets", () => {
    const range = { fromMs: -DAY_MS - HOUR_MS - 1, toMs: HOUR_MS + 1 };
    const plan = planBuckets(range, ALL_LEVELS);
    expectValidPlan(range, ALL_LEVELS, plan);
    expect(plan.buckets).toContainEqual({ level: "day", fromMs: -DAY_MS, toMs: 0 });
  });

  it("covers 500 pseudo-random ranges exactly once, for every combination of levels", () => {
    const random = createSeededRandom(20260308);
    const levelSets: readonly (readonly BucketLevel[])[] = [ALL_LEVELS, DETAIL_LEVELS, ["minute"], ["hour"], ["day"], ["minute", "day"]];
    const base = Date.UTC(2025, 11, 1);
    const lengths = [MINUTE_MS, HOUR_MS, DAY_MS, 40 * DAY_MS];
    for (let i = 0; i < 500; i++) {
      let fromMs = base + random.int(0, 90 * DAY_MS);
      let toMs = fromMs + random.int(0, random.pick(lengths) * 2);
      // Some ends fall exactly on bucket boundaries, where off-by-one mistakes live.
      if (random.chance(0.3)) fromMs -= fromMs % random.pick([MINUTE_MS, HOUR_MS, DAY_MS]);
      if (random.chance(0.3)) toMs -= toMs % random.pick([MINUTE_MS, HOUR_MS, DAY_MS]);
      const range = { fromMs, toMs };
      const levels = random.pick(levelSets);
      const plan = planBuckets(range, levels);
      expectValidPlan(range, levels, plan);
      if (levels === ALL_LEVELS && toMs - fromMs <= 30 * DAY_MS) {
        expect(plan.buckets.length).toBeLessThanOrEqual(5);
      }
    }
  });
});
