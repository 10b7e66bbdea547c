import type { Budget } from "../domain/budget.js";
import type { Money } from "../domain/money.js";
import type { TimeRange } from "../domain/time.js";
import type { CostStore } from "./cost-store.js";
import { sumRange } from "./range-sum.js";

/** A budget's spend in a period: its cluster's records in its currency, from roll-ups plus edges. */
export async function periodSpend(store: CostStore, budget: Budget, period: TimeRange): Promise<Money> {
  const sums = await sumRange(store, {
    range: period,
    filter: { clusterIds: [budget.clusterId], currency: budget.amount.currency },
    groupBy: [],
  });
  return { currency: budget.amount.currency, nanos: sums.reduce((total, s) => total + s.nanos, 0n) };
}
