import type { BudgetPeriod } from "./budget.js";
import { addDays, addMonths, isoWeekday, localDateOf, startOfLocalDate, type LocalDate } from "./calendar.js";
import type { TimeRange } from "./time.js";

/**
 * The calendar period of a budget holding an instant, in the budget's zone: a
 * local day, an ISO week from Monday, or a month from the 1st. Days with a DST
 * change are 23 or 25 hours long.
 */
export function periodRange(period: BudgetPeriod, atMs: number, timeZone: string): TimeRange {
  const date = localDateOf(atMs, timeZone);
  const [first, next] = bounds(period, date);
  return { fromMs: startOfLocalDate(first, timeZone), toMs: startOfLocalDate(next, timeZone) };
}

/** The period right before the one holding `atMs`. */
export function previousPeriodRange(period: BudgetPeriod, atMs: number, timeZone: string): TimeRange {
  return periodRange(period, periodRange(period, atMs, timeZone).fromMs - 1, timeZone);
}

function bounds(period: BudgetPeriod, date: LocalDate): [LocalDate, LocalDate] {
  switch (period) {
    case "daily":
      return [date, addDays(date, 1)];
    case "weekly": {
      const monday = addDays(date, 1 - isoWeekday(date));
      return [monday, addDays(monday, 7)];
    }
    case "monthly": {
      const first = { year: date.year, month: date.month, day: 1 };
      return [first, addMonths(first, 1)];
    }
  }
}
