import type { Money } from "../domain/money.js";
import type { TimeRange } from "../domain/time.js";
import type { CostStore } from "./cost-store.js";
import { dimensionValue, type CostDimension } from "./dimensions.js";
import { sumRange } from "./range-sum.js";

/** Spend of one group in one currency. */
export interface BreakdownEntry {
  readonly key: string;
  readonly cost: Money;
  readonly recordCount: number;
}

/** What to break down. */
export interface BreakdownQuery {
  /** undefined for all clusters. */
  readonly clusterIds?: readonly string[] | undefined;
  readonly dimension: CostDimension;
  readonly range: TimeRange;
}

/** Spend over a range grouped by a dimension, ordered by currency, then largest cost first, then key. */
export async function getBreakdown(store: CostStore, query: BreakdownQuery): Promise<BreakdownEntry[]> {
  const sums = await sumRange(store, { range: query.range, filter: { clusterIds: query.clusterIds }, groupBy: [query.dimension] });
  return sums
    .map((s) => ({ key: dimensionValue(s, query.dimension), cost: { currency: s.currency, nanos: s.nanos }, recordCount: s.count }))
    .sort(
      (a, b) =>
        compareText(a.cost.currency, b.cost.currency) ||
        (a.cost.nanos > b.cost.nanos ? -1 : a.cost.nanos < b.cost.nanos ? 1 : 0) ||
        compareText(a.key, b.key),
    );
}

/** Plain code-unit order, the same in every locale. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
