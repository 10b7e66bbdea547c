import { DAY_MS, type TimeRange } from "./time.js";

/** The rolling windows of a cost summary, as the seed defines them. */
export type SummaryWindow = "today" | "thisWeek" | "thisMonth";

/** Length of each rolling window: today is the last 24 h, this week 7 days, this month 30 days. */
export const WINDOW_MS: Readonly<Record<SummaryWindow, number>> = {
  today: DAY_MS,
  thisWeek: 7 * DAY_MS,
  thisMonth: 30 * DAY_MS,
};

/**
 * The range a rolling window covers at `nowMs`. It ends at `openEndMs` rather than
 * now so records stamped slightly ahead of the server's clock (allowed within
 * the skew limit) still count; nothing can lie beyond that end.
 */
export function windowRange(window: SummaryWindow, nowMs: number, openEndMs: number): TimeRange {
  return { fromMs: nowMs - WINDOW_MS[window], toMs: openEndMs };
}
