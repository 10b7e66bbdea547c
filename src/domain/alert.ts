import type { BudgetPeriod } from "./budget.js";
import type { Money } from "./money.js";

/** Why an alert was raised. */
export type AlertKind = "threshold" | "exceeded" | "forecast";

/** A budget alert: at most one exists per budget, period, kind and threshold. */
export interface Alert {
  readonly id: string;
  readonly clusterId: string;
  readonly budgetId: string;
  readonly kind: AlertKind;
  /** 1-99 for THRESHOLD, 100 for EXCEEDED and FORECAST. */
  readonly thresholdPercent: number;
  /** The spend that raises this alert. */
  readonly threshold: Money;
  /** Spend when raised (for FORECAST, the projected end-of-period spend). */
  readonly currentCost: Money;
  /** currentCost as a percentage of the budget amount, two decimals. */
  readonly percent: number;
  readonly period: BudgetPeriod;
  readonly periodStartMs: number;
  readonly periodEndMs: number;
  readonly triggeredAtMs: number;
  readonly acknowledged: boolean;
  /** "" until acknowledged. */
  readonly acknowledgedBy: string;
  /** 0 until acknowledged. */
  readonly acknowledgedAtMs: number;
  readonly acknowledgeNote: string;
}

/** The identity that makes an alert unique: stores enforce it with a unique key. */
export function alertKey(alert: Pick<Alert, "budgetId" | "period" | "periodStartMs" | "kind" | "thresholdPercent">): string {
  return `${alert.budgetId}|${alert.period}|${alert.periodStartMs}|${alert.kind}|${alert.thresholdPercent}`;
}

/** The alert once acknowledged by `by` at `atMs`; the first acknowledgment is the one kept, so callers apply this only to an active alert. */
export function acknowledgedAlert(alert: Alert, request: { readonly by: string; readonly note: string; readonly atMs: number }): Alert {
  return { ...alert, acknowledged: true, acknowledgedBy: request.by, acknowledgedAtMs: request.atMs, acknowledgeNote: request.note };
}

/** What happened to an alert. */
export type AlertEventType = "triggered" | "acknowledged";

/** One entry of the alert feed. */
export interface AlertEvent {
  /** Position in the feed, opaque: compare only for equality. */
  readonly cursor: string;
  readonly type: AlertEventType;
  /** The alert as it was right after the event. */
  readonly alert: Alert;
  readonly eventMs: number;
}
