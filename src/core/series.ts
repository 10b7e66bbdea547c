import { BUCKET_MS, type BucketLevel } from "../domain/bucket-plan.js";
import { localDayBoundaries } from "../domain/calendar.js";
import type { Money } from "../domain/money.js";
import { DETAIL_LEVELS } from "../domain/rollup.js";
import { HOUR_MS, ceilTo, floorTo, type TimeRange } from "../domain/time.js";
import { compareText } from "./breakdown.js";
import type { CostStore, GroupField, SumRow } from "./cost-store.js";
import { dimensionValue, type CostDimension } from "./dimensions.js";
import { InvalidRequestError } from "./errors.js";

/** Most buckets one series request may span. */
export const MAX_SERIES_BUCKETS = 2_000;

/** One non-empty bucket of a series, for one group and currency. */
export interface SeriesPoint {
  readonly bucketStartMs: number;
  readonly key: string;
  readonly cost: Money;
  readonly recordCount: number;
}

/** What to chart. */
export interface SeriesQuery {
  readonly clusterIds?: readonly string[] | undefined;
  readonly granularity: "hour" | "day";
  readonly range: TimeRange;
  readonly splitBy?: CostDimension | undefined;
  /** Zone of day buckets; hour buckets are clock hours in UTC. */
  readonly timeZone: string;
}

/** Bucket starts covering a range: UTC hours, or local days (23 to 25 hours) in a zone; the last entry ends the last bucket. */
export function seriesBoundaries(query: Pick<SeriesQuery, "granularity" | "range" | "timeZone">): number[] {
  if (query.granularity === "day") return localDayBoundaries(query.range, query.timeZone);
  const boundaries: number[] = [];
  const end = Math.max(ceilTo(query.range.toMs, HOUR_MS), floorTo(query.range.fromMs, HOUR_MS) + HOUR_MS);
  for (let t = floorTo(query.range.fromMs, HOUR_MS); t <= end; t += HOUR_MS) boundaries.push(t);
  return boundaries;
}

/**
 * Spend per bucket, from the detail roll-ups in one query, plus raw records only
 * for hours cut in two by a bucket boundary (local days in zones whose offset is
 * not a whole number of hours).
 */
export async function getSeries(store: CostStore, query: SeriesQuery): Promise<SeriesPoint[]> {
  const boundaries = seriesBoundaries(query);
  if (boundaries.length - 1 > MAX_SERIES_BUCKETS) {
    throw new InvalidRequestError("start_time", `spans ${boundaries.length - 1} buckets; at most ${MAX_SERIES_BUCKETS} fit in one request`);
  }
  const groupBy: GroupField[] = query.splitBy ? [query.splitBy] : [];
  const filter = { clusterIds: query.clusterIds };
  const first = boundaries[0] as number;
  const last = boundaries[boundaries.length - 1] as number;
  // The coarsest roll-up level every boundary is aligned to.
  const level: BucketLevel =
    [...DETAIL_LEVELS].reverse().find((l) => boundaries.every((b) => b % BUCKET_MS[l] === 0)) ?? "hour";
  const size = BUCKET_MS[level];
  const cutHours = new Set(boundaries.filter((b) => b % size !== 0).map((b) => floorTo(b, size)));

  const edges: { range: TimeRange; bucket: number }[] = [];
  boundaries.forEach((b, i) => {
    if (b % size === 0) return;
    if (i > 0) edges.push({ range: { fromMs: floorTo(b, size), toMs: b }, bucket: i - 1 });
    if (i < boundaries.length - 1) edges.push({ range: { fromMs: b, toMs: ceilTo(b, size) }, bucket: i });
  });

  const [bucketRows, ...edgeRows] = await Promise.all([
    store.sumRollups({ scope: "detail", level, fromMs: ceilTo(first, size), toMs: floorTo(last, size), filter, groupBy, perBucket: true }),
    ...edges.map((e) => store.sumRecords({ ...e.range, filter, groupBy })),
  ]);

  const points = new Map<string, { bucketStartMs: number; key: string; currency: string; nanos: bigint; count: number }>();
  const add = (bucket: number, row: SumRow): void => {
    const bucketStartMs = boundaries[bucket] as number;
    const key = query.splitBy ? dimensionValue(row, query.splitBy) : "";
    const id = `${bucketStartMs}\u0000${key}\u0000${row.currency}`;
    const nanos = row.units * 1_000_000_000n + row.nanos;
    const point = points.get(id);
    if (point) {
      point.nanos += nanos;
      point.count += row.count;
    } else {
      points.set(id, { bucketStartMs, key, currency: row.currency, nanos, count: row.count });
    }
  };
  for (const row of bucketRows) {
    if (cutHours.has(row.bucketStartMs)) continue;
    add(bucketIndex(boundaries, row.bucketStartMs), row);
  }
  edgeRows.forEach((rows, i) => {
    for (const row of rows) add((edges[i] as { bucket: number }).bucket, row);
  });
  return [...points.values()]
    .filter((p) => p.count > 0)
    .map((p) => ({ bucketStartMs: p.bucketStartMs, key: p.key, cost: { currency: p.currency, nanos: p.nanos }, recordCount: p.count }))
    .sort((a, b) => a.bucketStartMs - b.bucketStartMs || compareText(a.key, b.key) || compareText(a.cost.currency, b.cost.currency));
}

/** Index of the bucket [boundaries[i], boundaries[i+1]) holding t. */
function bucketIndex(boundaries: readonly number[], t: number): number {
  let lo = 0;
  let hi = boundaries.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((boundaries[mid] as number) <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
