import type { AlertKind } from "./alert.js";
import type { Budget } from "./budget.js";
import { percentOf, type Money } from "./money.js";
import type { TimeRange } from "./time.js";

/** Share of a period that must have passed before a forecast means anything (10 %). */
export const FORECAST_MIN_ELAPSED = { numerator: 1n, denominator: 10n } as const;

/** An alert a budget's spend calls for; the store decides whether it is new. */
export interface AlertCandidate {
  readonly kind: AlertKind;
  readonly thresholdPercent: number;
  readonly threshold: Money;
  readonly currentCost: Money;
  readonly percent: number;
}

/**
 * The end-of-period spend projected from the burn rate so far, or undefined
 * before FORECAST_MIN_ELAPSED of the period has passed (too early to be more than noise).
 */
export function forecastSpend(spent: Money, period: TimeRange, nowMs: number): Money | undefined {
  const length = BigInt(period.toMs - period.fromMs);
  const elapsed = BigInt(Math.min(nowMs, period.toMs) - period.fromMs);
  if (elapsed * FORECAST_MIN_ELAPSED.denominator < length * FORECAST_MIN_ELAPSED.numerator || elapsed <= 0n) return undefined;
  return { currency: spent.currency, nanos: (spent.nanos * length) / elapsed };
}

/**
 * The alerts a budget's spend in a period calls for: one THRESHOLD per threshold
 * reached, EXCEEDED once spend reaches the amount, FORECAST when the projection
 * passes the amount before spend does. Comparisons are exact integers.
 */
export function evaluateBudget(budget: Budget, spent: Money, period: TimeRange, nowMs: number): AlertCandidate[] {
  if (!budget.enabled || spent.currency !== budget.amount.currency) return [];
  const amount = budget.amount;
  const candidates: AlertCandidate[] = [];
  const percent = percentOf(spent, amount);
  for (const threshold of budget.thresholds) {
    // spent >= amount * threshold / 100, without dividing.
    if (spent.nanos * 100n >= amount.nanos * BigInt(threshold)) {
      const thresholdNanos = (amount.nanos * BigInt(threshold) + 99n) / 100n;
      candidates.push({ kind: "threshold", thresholdPercent: threshold, threshold: { currency: amount.currency, nanos: thresholdNanos }, currentCost: spent, percent });
    }
  }
  if (spent.nanos >= amount.nanos) {
    candidates.push({ kind: "exceeded", thresholdPercent: 100, threshold: amount, currentCost: spent, percent });
  } else if (nowMs < period.toMs) {
    const forecast = forecastSpend(spent, period, nowMs);
    if (forecast && forecast.nanos > amount.nanos) {
      candidates.push({ kind: "forecast", thresholdPercent: 100, threshold: amount, currentCost: forecast, percent: percentOf(forecast, amount) });
    }
  }
  return candidates;
}
