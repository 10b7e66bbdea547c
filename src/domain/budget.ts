import type { Money } from "./money.js";

/** How often a budget resets. */
export type BudgetPeriod = "daily" | "weekly" | "monthly";

/** A spending limit for one cluster in one currency, reset every calendar period in its time zone. */
export interface Budget {
  readonly id: string;
  readonly clusterId: string;
  /** The limit per period; its currency is the budget's. */
  readonly amount: Money;
  readonly period: BudgetPeriod;
  /** Percentages (1-99, ascending, distinct) that raise THRESHOLD alerts; 100 is the EXCEEDED alert. */
  readonly thresholds: readonly number[];
  readonly enabled: boolean;
  /** IANA zone of the period boundaries. */
  readonly timeZone: string;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

/** Largest budget amount, in whole units. */
export const MAX_BUDGET_UNITS = 1_000_000_000_000n;
/** Most alert thresholds on one budget. */
export const MAX_THRESHOLDS = 10;

/**
 * The thresholds a budget keeps from what a caller gave: sorted, and without 100,
 * which the EXCEEDED alert already covers (so one crossing raises one alert).
 */
export function normaliseThresholds(percentages: readonly number[]): number[] {
  return [...new Set(percentages)].filter((p) => p < 100).sort((a, b) => a - b);
}
