import type { GroupField } from "./cost-store.js";
import type { GroupSum } from "./range-sum.js";

/** A dimension costs are grouped by in breakdowns and series. */
export type CostDimension = GroupField;

/** The value a summed group has for a dimension. */
export function dimensionValue(sum: Pick<GroupSum, "clusterId" | "provider" | "operation" | "model">, dimension: CostDimension): string {
  switch (dimension) {
    case "cluster":
      return sum.clusterId;
    case "provider":
      return sum.provider;
    case "operation":
      return sum.operation;
    case "model":
      return sum.model;
  }
}
