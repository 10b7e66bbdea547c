import { BudgetPeriod } from "../../../gen/dreamnet/cost/v1/budget_pb.js";

/** "Daily", "Weekly" or "Monthly". */
export function periodName(period: BudgetPeriod): string {
  switch (period) {
    case BudgetPeriod.DAILY:
      return "Daily";
    case BudgetPeriod.WEEKLY:
      return "Weekly";
    case BudgetPeriod.MONTHLY:
      return "Monthly";
    default:
      return "Budget";
  }
}
