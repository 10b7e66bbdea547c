import type { GroupField, SumFilter, SumRow } from "../../src/core/cost-store.js";
import type { CostRecord } from "../../src/domain/cost-record.js";
import { DAY_MS, HOUR_MS, MINUTE_MS, type TimeRange } from "../../src/domain/time.js";
import { createSeededRandom } from "./seeded-random.js";

/** A fixed, deliberately unaligned instant fixtures start at: 2026-01-20T07:13:21.345Z. */
export const FIXTURE_START_MS = Date.UTC(2026, 0, 20, 7, 13, 21, 345);
/** How far fixture timestamps spread: 40 days. */
export const FIXTURE_SPAN_MS = 40 * DAY_MS;

export const FIXTURE_CLUSTERS = ["alpha", "beta", "delta.eu-1", "gamma"] as const;
export const FIXTURE_PROVIDERS = ["anthropic", "google", "openai"] as const;
export const FIXTURE_OPERATIONS = ["chat", "embed", "image"] as const;
export const FIXTURE_MODELS = ["", "claude-sonnet", "gemini-pro", "gpt-4o"] as const;
export const FIXTURE_CURRENCIES = ["EUR", "USD"] as const;

/** A domain record with sensible defaults: 0.002 USD of an openai chat at 2026-03-08T05:30Z. */
export function makeRecord(id: string, changes: Partial<Omit<CostRecord, "id">> = {}): CostRecord {
  return {
    id,
    clusterId: "alpha",
    provider: "openai",
    operation: "chat",
    model: "gpt-4o",
    cost: { currency: "USD", nanos: 2_000_000n },
    timestampMs: Date.UTC(2026, 2, 8, 5, 30),
    traceId: "",
    metadataJson: "",
    ...changes,
  };
}

/**
 * `count` varied records from a seed: four clusters, three providers and operations, four
 * models (one empty), two currencies, amounts with nanos, timestamps over 40 days with
 * some exactly on minute, hour and day boundaries and some shared by several records.
 */
export function generateCostRecords(seed: number, count: number): CostRecord[] {
  const random = createSeededRandom(seed);
  const records: CostRecord[] = [];
  const ids = new Set<string>();
  for (let i = 0; i < count; i++) {
    let timestampMs = FIXTURE_START_MS + random.int(0, FIXTURE_SPAN_MS - 1);
    const snap = random.next();
    if (snap < 0.05) timestampMs -= timestampMs % DAY_MS;
    else if (snap < 0.12) timestampMs -= timestampMs % HOUR_MS;
    else if (snap < 0.25) timestampMs -= timestampMs % MINUTE_MS;
    else if (snap < 0.3 && records.length > 0) timestampMs = random.pick(records).timestampMs;
    const shape = random.next();
    const nanos =
      shape < 0.15
        ? 2_000_000n
        : shape < 0.2
          ? 999_999_999n
          : BigInt(random.int(0, shape < 0.9 ? 3 : 2_000)) * 1_000_000_000n + BigInt(random.int(0, 999_999_999));
    const id = `${random.hex(8)}-${random.hex(4)}-4${random.hex(3)}-${random.hex(4)}-${random.hex(12)}`;
    if (ids.has(id)) throw new Error(`fixture id ${id} repeats; pick another seed`);
    ids.add(id);
    records.push({
      id,
      clusterId: random.pick(FIXTURE_CLUSTERS),
      provider: random.pick(FIXTURE_PROVIDERS),
      operation: random.pick(FIXTURE_OPERATIONS),
      model: random.pick(FIXTURE_MODELS),
      cost: { currency: random.chance(0.75) ? "USD" : "EUR", nanos },
      timestampMs,
      traceId: random.chance(0.5) ? "" : random.hex(32),
      metadataJson: random.chance(0.7) ? "" : `{"team":"${random.pick(["core", "search", "billing"])}"}`,
    });
  }
  return records;
}

/** An exact sum for one group (ungrouped fields "") and currency, and per bucket when asked. */
export interface ExpectedSum {
  readonly clusterId: string;
  readonly provider: string;
  readonly operation: string;
  readonly model: string;
  readonly currency: string;
  readonly bucketStartMs: number;
  readonly nanos: bigint;
  readonly count: number;
}

/** Whether a record passes a sum filter. */
export function matchesFilter(record: CostRecord, filter: SumFilter): boolean {
  if (filter.clusterIds !== undefined && !filter.clusterIds.includes(record.clusterId)) return false;
  return filter.currency === undefined || record.cost.currency === filter.currency;
}

/**
 * The brute-force answer: sums the records of [fromMs, toMs) that pass the filter, per
 * group and currency (and per bucket of `bucketMs` when given), sorted.
 */
export function bruteForceSums(
  records: readonly CostRecord[],
  range: TimeRange,
  filter: SumFilter,
  groupBy: readonly GroupField[],
  bucketMs?: number,
): ExpectedSum[] {
  const sums = new Map<string, ExpectedSum>();
  for (const r of records) {
    if (r.timestampMs < range.fromMs || r.timestampMs >= range.toMs || !matchesFilter(r, filter)) continue;
    const key: Omit<ExpectedSum, "nanos" | "count"> = {
      clusterId: groupBy.includes("cluster") ? r.clusterId : "",
      provider: groupBy.includes("provider") ? r.provider : "",
      operation: groupBy.includes("operation") ? r.operation : "",
      model: groupBy.includes("model") ? r.model : "",
      currency: r.cost.currency,
      bucketStartMs: bucketMs === undefined ? 0 : Math.floor(r.timestampMs / bucketMs) * bucketMs,
    };
    const k = sumKey(key);
    const prev = sums.get(k);
    sums.set(k, { ...key, nanos: (prev?.nanos ?? 0n) + r.cost.nanos, count: (prev?.count ?? 0) + 1 });
  }
  return sortSums([...sums.values()]);
}

/** Store rows as exact sums, sorted; throws when two rows name the same group, which a store must never return. */
export function sumsFromRows(rows: readonly SumRow[]): ExpectedSum[] {
  const seen = new Set<string>();
  const out = rows.map((row) => {
    const sum: ExpectedSum = {
      clusterId: row.clusterId,
      provider: row.provider,
      operation: row.operation,
      model: row.model,
      currency: row.currency,
      bucketStartMs: row.bucketStartMs,
      nanos: row.units * 1_000_000_000n + row.nanos,
      count: row.count,
    };
    const k = sumKey(sum);
    if (seen.has(k)) throw new Error(`two rows for one group: ${k}`);
    seen.add(k);
    return sum;
  });
  return sortSums(out);
}

/** Sorts sums by their group, currency and bucket so lists compare with toEqual. */
export function sortSums<T extends Omit<ExpectedSum, "nanos" | "count" | "bucketStartMs"> & { bucketStartMs?: number }>(sums: T[]): T[] {
  return sums.sort((a, b) => (sumKey(a) < sumKey(b) ? -1 : sumKey(a) > sumKey(b) ? 1 : 0));
}

function sumKey(s: { clusterId: string; provider: string; operation: string; model: string; currency: string; bucketStartMs?: number }): string {
  return [s.clusterId, s.provider, s.operation, s.model, s.currency, String(s.bucketStartMs ?? 0).padStart(16, "0")].join("\u0000");
}
