import { DAY_MS, HOUR_MS, MINUTE_MS, ceilTo, floorTo, type TimeRange } from "./time.js";

/** The sizes of roll-up buckets, smallest first. Buckets are epoch-aligned (UTC). */
export type BucketLevel = "minute" | "hour" | "day";

/** Milliseconds in a bucket of each level. */
export const BUCKET_MS: Readonly<Record<BucketLevel, number>> = {
  minute: MINUTE_MS,
  hour: HOUR_MS,
  day: DAY_MS,
};

/** A run of whole buckets of one level. */
export interface BucketRange extends TimeRange {
  readonly level: BucketLevel;
}

/**
 * How to answer a sum over a time range exactly: whole roll-up buckets where they
 * fit, raw records only for the edges no bucket covers.
 */
export interface BucketPlan {
  readonly buckets: readonly BucketRange[];
  readonly raw: readonly TimeRange[];
}

/**
 * Splits [fromMs, toMs) into the fewest bucket ranges of the given levels plus raw
 * edges. Largest buckets go in the middle, smaller ones toward the edges, so a
 * 30-day window with levels minute/hour/day needs at most 59+23+30+23+59 buckets.
 */
export function planBuckets(range: TimeRange, levels: readonly BucketLevel[]): BucketPlan {
  const sorted = [...levels].sort((a, b) => BUCKET_MS[a] - BUCKET_MS[b]);
  const buckets: BucketRange[] = [];
  const raw: TimeRange[] = [];
  split(range.fromMs, range.toMs, sorted.length - 1);
  return { buckets: buckets.sort((a, b) => a.fromMs - b.fromMs), raw };

  function split(fromMs: number, toMs: number, levelIndex: number): void {
    if (fromMs >= toMs) return;
    const level = sorted[levelIndex];
    if (level === undefined) {
      raw.push({ fromMs, toMs });
      return;
    }
    const size = BUCKET_MS[level];
    const start = ceilTo(fromMs, size);
    const end = floorTo(toMs, size);
    if (start >= end) {
      split(fromMs, toMs, levelIndex - 1);
      return;
    }
    split(fromMs, start, levelIndex - 1);
    buckets.push({ level, fromMs: start, toMs: end });
    split(end, toMs, levelIndex - 1);
  }
}
