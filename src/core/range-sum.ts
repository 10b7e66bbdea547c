import { planBuckets } from "../domain/bucket-plan.js";
import { NANOS_PER_UNIT } from "../domain/money.js";
import { CLUSTER_LEVELS, DETAIL_LEVELS } from "../domain/rollup.js";
import type { TimeRange } from "../domain/time.js";
import type { CostStore, GroupField, SumFilter, SumRow } from "./cost-store.js";

/** An exact sum for one group and currency. */
export interface GroupSum {
  readonly clusterId: string;
  readonly provider: string;
  readonly operation: string;
  readonly model: string;
  readonly currency: string;
  nanos: bigint;
  count: number;
}

/** What to sum over a time range. */
export interface RangeSumQuery {
  readonly range: TimeRange;
  readonly filter: SumFilter;
  readonly groupBy: readonly GroupField[];
}

/**
 * Sums a time range exactly from roll-ups plus the raw records of the edges no
 * bucket covers (see planBuckets), so the cost depends on the range, not on how
 * many records are stored. Groups by cluster only can use the per-cluster
 * roll-ups, which have minute buckets and so the smallest raw edges.
 */
export async function sumRange(store: CostStore, query: RangeSumQuery): Promise<GroupSum[]> {
  const clusterScope = query.groupBy.every((g) => g === "cluster");
  const scope = clusterScope ? "cluster" : "detail";
  const plan = planBuckets(query.range, clusterScope ? CLUSTER_LEVELS : DETAIL_LEVELS);
  const parts = await Promise.all([
    ...plan.buckets.map((b) =>
      store.sumRollups({ scope, level: b.level, fromMs: b.fromMs, toMs: b.toMs, filter: query.filter, groupBy: query.groupBy }),
    ),
    ...plan.raw.map((r) => store.sumRecords({ fromMs: r.fromMs, toMs: r.toMs, filter: query.filter, groupBy: query.groupBy })),
  ]);
  return mergeSumRows(parts.flat());
}

/** Adds rows of the same group and currency together. */
export function mergeSumRows(rows: readonly SumRow[]): GroupSum[] {
  const merged = new Map<string, GroupSum>();
  for (const row of rows) {
    const key = groupKey(row);
    const nanos = row.units * NANOS_PER_UNIT + row.nanos;
    const existing = merged.get(key);
    if (existing) {
      existing.nanos += nanos;
      existing.count += row.count;
    } else {
      merged.set(key, {
        clusterId: row.clusterId,
        provider: row.provider,
        operation: row.operation,
        model: row.model,
        currency: row.currency,
        nanos,
        count: row.count,
      });
    }
  }
  return [...merged.values()];
}

function groupKey(row: { clusterId: string; provider: string; operation: string; model: string; currency: string }): string {
  return `${row.clusterId}\u0000${row.provider}\u0000${row.operation}\u0000${row.model}\u0000${row.currency}`;
}
