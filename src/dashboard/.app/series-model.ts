import type { CostSeriesPoint } from "../../../gen/dreamnet/cost/v1/cost_summary_pb.js";
import { msOf } from "./time-text.js";
import { moneyFromWire, sumMoney, type Money } from "./money-text.js";

/** Bucket size of the chart. */
export type Granularity = "hour" | "day";

const HOUR_MS = 3_600_000;

/** How many buckets the chart shows: the last 24 hours or the last 30 days. */
export const BUCKET_COUNT: Readonly<Record<Granularity, number>> = { hour: 24, day: 30 };

/**
 * The starts of the buckets the chart shows, oldest first, the last one holding
 * `nowMs`. Hours are clock hours; days start at local midnight, in the time zone
 * the series is asked for (the reader's), so a DST day is 23 or 25 hours long.
 */
export function bucketStarts(granularity: Granularity, nowMs: number): number[] {
  const count = BUCKET_COUNT[granularity];
  if (granularity === "hour") {
    const last = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
    return Array.from({ length: count }, (_, i) => last - (count - 1 - i) * HOUR_MS);
  }
  const now = new Date(nowMs);
  return Array.from({ length: count }, (_, i) => new Date(now.getFullYear(), now.getMonth(), now.getDate() - (count - 1 - i)).getTime());
}

/** One line of the chart: a group's spend per bucket (undefined: nothing spent). */
export interface ChartSeries {
  readonly key: string;
  /** True for the sum of the groups beyond the ones drawn on their own. */
  readonly isOther: boolean;
  readonly amounts: readonly (Money | undefined)[];
  readonly total: Money;
}

/** One non-empty point, for the table beside the chart. */
export interface SeriesRow {
  readonly bucketMs: number;
  readonly key: string;
  readonly cost: Money;
  readonly recordCount: bigint;
}

/** What the chart and its table draw for one currency. */
export interface SeriesModel {
  readonly buckets: readonly number[];
  /** Every currency present in the points, sorted. */
  readonly currencies: readonly string[];
  readonly series: readonly ChartSeries[];
  readonly rows: readonly SeriesRow[];
  readonly total: Money;
}

/**
 * Groups a GetCostSeries answer into chart lines for one currency (currencies are
 * never added together). Sums are exact; at most `maxSeries` lines, the smallest
 * groups folded into one "other" line.
 */
export function seriesModel(points: readonly CostSeriesPoint[], buckets: readonly number[], currency: string, maxSeries = 8): SeriesModel {
  const currencies = [...new Set(points.map((p) => p.cost?.currencyCode ?? "").filter((c) => c !== ""))].sort();
  const index = new Map(buckets.map((start, i) => [start, i]));
  const byKey = new Map<string, Money[][]>();
  const rows: SeriesRow[] = [];
  for (const point of points) {
    if (point.cost?.currencyCode !== currency) continue;
    const startMs = msOf(point.bucketStartTime) ?? 0;
    const at = index.get(startMs) ?? bucketHolding(buckets, startMs);
    if (at === undefined) continue;
    const cost = moneyFromWire(point.cost);
    let perBucket = byKey.get(point.key);
    if (!perBucket) {
      perBucket = buckets.map(() => []);
      byKey.set(point.key, perBucket);
    }
    perBucket[at]?.push(cost);
    rows.push({ bucketMs: startMs, key: point.key, cost, recordCount: point.recordCount });
  }

  const lines = [...byKey.entries()].map(([key, perBucket]) => {
    const amounts = perBucket.map((parts) => (parts.length === 0 ? undefined : sumMoney(parts, currency)));
    return { key, isOther: false, amounts, total: sumMoney(amounts.filter((a): a is Money => a !== undefined), currency) };
  });
  lines.sort((a, b) => (a.total.nanos > b.total.nanos ? -1 : a.total.nanos < b.total.nanos ? 1 : a.key < b.key ? -1 : 1));
  const total = sumMoney(lines.map((l) => l.total), currency);
  const series: ChartSeries[] = lines.length <= maxSeries ? lines : [...lines.slice(0, maxSeries - 1), foldOther(lines.slice(maxSeries - 1), buckets.length, currency)];
  rows.sort((a, b) => a.bucketMs - b.bucketMs || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { buckets, currencies, series, rows, total };
}

function foldOther(lines: readonly ChartSeries[], bucketCount: number, currency: string): ChartSeries {
  const amounts = Array.from({ length: bucketCount }, (_, i) => {
    const parts = lines.map((l) => l.amounts[i]).filter((a): a is Money => a !== undefined);
    return parts.length === 0 ? undefined : sumMoney(parts, currency);
  });
  return { key: "", isOther: true, amounts, total: sumMoney(lines.map((l) => l.total), currency) };
}

/** The bucket whose range holds `ms`, when it is not a bucket start (a time zone the browser sees differently). */
function bucketHolding(buckets: readonly number[], ms: number): number | undefined {
  for (let i = buckets.length - 1; i >= 0; i--) {
    if ((buckets[i] ?? Infinity) <= ms) return i;
  }
  return undefined;
}
