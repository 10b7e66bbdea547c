import { create } from "@bufbuild/protobuf";
import {
  BudgetPeriod as BudgetPeriodProto,
  BudgetStatusSchema,
  CostBudgetSchema,
  type BudgetStatus as BudgetStatusProto,
  type CostBudget,
} from "../../gen/dreamnet/cost/v1/budget_pb.js";
import type { BudgetInput, BudgetStatus } from "../core/budgets.js";
import { MAX_BUDGET_UNITS, MAX_THRESHOLDS, normaliseThresholds, type Budget, type BudgetPeriod } from "../domain/budget.js";
import { fieldPath, invalidArgument } from "./field-violation.js";
import { isViolation, moneyFromProto, moneyToProto } from "./money-mapping.js";
import { requiredId, timeZone } from "./request-fields.js";
import { timestampFromMs } from "./time-mapping.js";

/** A validated budget from the wire, or InvalidArgument naming the field (under `prefix`, e.g. "budget"). */
export function budgetFromProto(proto: CostBudget | undefined, prefix: string): BudgetInput {
  if (!proto) throw invalidArgument({ field: prefix, description: "is required" });
  const at = (name: string): string => fieldPath(prefix, name);
  const id = requiredId(proto.id, at("id"));
  const clusterId = requiredId(proto.clusterId, at("cluster_id"));
  const amount = moneyFromProto(proto.amount, at("amount"));
  if (isViolation(amount)) throw invalidArgument(amount);
  if (amount.nanos <= 0n) throw invalidArgument({ field: at("amount"), description: "must be greater than zero" });
  if (amount.nanos > MAX_BUDGET_UNITS * 1_000_000_000n) {
    throw invalidArgument({ field: at("amount.units"), description: `must be at most ${MAX_BUDGET_UNITS}` });
  }
  const period = periodFromProto(proto.period, at("period"));
  if (proto.alertThresholds.length > MAX_THRESHOLDS) {
    throw invalidArgument({ field: at("alert_thresholds"), description: `has ${proto.alertThresholds.length} entries; at most ${MAX_THRESHOLDS} are allowed` });
  }
  const seen = new Set<number>();
  proto.alertThresholds.forEach((t, i) => {
    if (!Number.isInteger(t) || t < 1 || t > 100) {
      throw invalidArgument({ field: `${at("alert_thresholds")}[${i}]`, description: `must be a percentage from 1 to 100 (got ${t})` });
    }
    if (seen.has(t)) throw invalidArgument({ field: `${at("alert_thresholds")}[${i}]`, description: `repeats ${t}` });
    seen.add(t);
  });
  return {
    id,
    clusterId,
    amount,
    period,
    thresholds: normaliseThresholds(proto.alertThresholds),
    enabled: proto.enabled ?? true,
    timeZone: timeZone(proto.timeZone, at("time_zone")),
  };
}

/** The wire form of a budget. */
export function budgetToProto(budget: Budget): CostBudget {
  return create(CostBudgetSchema, {
    id: budget.id,
    clusterId: budget.clusterId,
    amount: moneyToProto(budget.amount),
    period: periodToProto(budget.period),
    alertThresholds: [...budget.thresholds],
    enabled: budget.enabled,
    timeZone: budget.timeZone,
    createTime: timestampFromMs(budget.createdAtMs),
    updateTime: timestampFromMs(budget.updatedAtMs),
  });
}

/** The wire form of a budget's status. */
export function budgetStatusToProto(status: BudgetStatus): BudgetStatusProto {
  return create(BudgetStatusSchema, {
    budget: budgetToProto(status.budget),
    periodStartTime: timestampFromMs(status.period.fromMs),
    periodEndTime: timestampFromMs(status.period.toMs),
    spent: moneyToProto(status.spent),
    remaining: moneyToProto(status.remaining),
    percentUsed: status.percentUsed,
    forecast: status.forecast ? moneyToProto(status.forecast) : undefined,
  });
}

/** The wire enum of a period. */
export function periodToProto(period: BudgetPeriod): BudgetPeriodProto {
  switch (period) {
    case "daily":
      return BudgetPeriodProto.DAILY;
    case "weekly":
      return BudgetPeriodProto.WEEKLY;
    case "monthly":
      return BudgetPeriodProto.MONTHLY;
  }
}

function periodFromProto(value: BudgetPeriodProto, field: string): BudgetPeriod {
  switch (value) {
    case BudgetPeriodProto.DAILY:
      return "daily";
    case BudgetPeriodProto.WEEKLY:
      return "weekly";
    case BudgetPeriodProto.MONTHLY:
      return "monthly";
    case BudgetPeriodProto.UNSPECIFIED:
      throw invalidArgument({ field, description: "is required: DAILY, WEEKLY or MONTHLY" });
    default:
      throw invalidArgument({ field, description: `has unknown value ${String(value)}` });
  }
}
