/** Milliseconds in a minute. */
export const MINUTE_MS = 60_000;
/** Milliseconds in an hour. */
export const HOUR_MS = 60 * MINUTE_MS;
/** Milliseconds in a day of 24 hours (UTC days; local days may be 23 or 25 hours). */
export const DAY_MS = 24 * HOUR_MS;

/** A half-open interval of epoch milliseconds [fromMs, toMs). */
export interface TimeRange {
  readonly fromMs: number;
  readonly toMs: number;
}

/** The source of the current time, injected so tests control it. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** The process's wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** t rounded down to a multiple of size (epoch-aligned, so days are UTC days). */
export function floorTo(t: number, size: number): number {
  return Math.floor(t / size) * size;
}

/** t rounded up to a multiple of size. */
export function ceilTo(t: number, size: number): number {
  return Math.ceil(t / size) * size;
}
