import { HOUR_MS, MINUTE_MS, type TimeRange } from "./time.js";

/** A calendar date in some time zone; month 1-12, weekday 1 (Monday) to 7 (Sunday). */
export interface LocalDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    // A memo, bounded: zones come from validated budgets and requests.
    if (formatters.size < 500) formatters.set(timeZone, f);
  }
  return f;
}

interface LocalFields extends LocalDate {
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

function localFields(ms: number, timeZone: string): LocalFields {
  const out: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(ms)) {
    if (part.type !== "literal") out[part.type] = Number(part.value);
  }
  return {
    year: out.year ?? 0,
    month: out.month ?? 0,
    day: out.day ?? 0,
    hour: out.hour ?? 0,
    minute: out.minute ?? 0,
    second: out.second ?? 0,
  };
}

/** The zone's offset from UTC at an instant, in ms (positive east of Greenwich). */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  const f = localFields(ms, timeZone);
  const wall = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
  return wall - Math.floor(ms / 1000) * 1000;
}

/** The calendar date an instant falls on in a zone. */
export function localDateOf(ms: number, timeZone: string): LocalDate {
  const { year, month, day } = localFields(ms, timeZone);
  return { year, month, day };
}

/** ISO weekday of a date: 1 Monday ... 7 Sunday. */
export function isoWeekday(date: LocalDate): number {
  const weekday = new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay();
  return weekday === 0 ? 7 : weekday;
}

/** The date `days` after (or before) a date; month and year overflow are normalised. */
export function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** The first day of the month `months` after a date's month. */
export function addMonths(date: LocalDate, months: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1 + months, 1));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: 1 };
}

/**
 * The first instant of a local date in a zone: local midnight (the first one where
 * clocks fall back across it), or, where the zone skips midnight (a DST gap at
 * 00:00), the end of that gap.
 */
export function startOfLocalDate(date: LocalDate, timeZone: string): number {
  const wall = Date.UTC(date.year, date.month - 1, date.day);
  // Two passes converge for every real zone: the offset at the guess decides the answer.
  let t = wall - zoneOffsetMs(wall, timeZone);
  t = wall - zoneOffsetMs(t, timeZone);
  const at = localFields(t, timeZone);
  // Usually t is local midnight and the minute before it is the previous date.
  if (sameDate(at, date) && at.hour === 0 && at.minute === 0 && compareDate(localDateOf(t - MINUTE_MS, timeZone), date) < 0) return t;
  // Otherwise midnight is in a DST gap, or occurs twice (clocks fell back from 01:00
  // to 00:00): the date starts at the first minute that shows it, within a few hours.
  let lo = t - 3 * HOUR_MS;
  let hi = t + 3 * HOUR_MS;
  while (hi - lo > MINUTE_MS) {
    const mid = Math.floor((lo + hi) / 2 / MINUTE_MS) * MINUTE_MS;
    if (compareDate(localDateOf(mid, timeZone), date) >= 0) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The local days (in a zone) that overlap a range, as instants: [start of first day, ..., end of last day]. */
export function localDayBoundaries(range: TimeRange, timeZone: string): number[] {
  let date = localDateOf(range.fromMs, timeZone);
  const boundaries = [startOfLocalDate(date, timeZone)];
  while ((boundaries[boundaries.length - 1] as number) < range.toMs) {
    date = addDays(date, 1);
    boundaries.push(startOfLocalDate(date, timeZone));
  }
  return boundaries;
}

function sameDate(a: LocalDate, b: LocalDate): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day;
}

function compareDate(a: LocalDate, b: LocalDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}
