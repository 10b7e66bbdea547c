/** Exponential backoff bounds. */
export interface BackoffPolicy {
  /** Ceiling of the first retry's delay (default 200 ms). */
  readonly initialMs: number;
  /** Largest ceiling, whatever the attempt (default 30 s). */
  readonly maxMs: number;
}

/** 200 ms doubling up to 30 s. */
export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = { initialMs: 200, maxMs: 30_000 };

/** Retry-After values above this are cut to it, so a receiver's typo cannot park the bridge for days. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * The delay before retry number `retry` (1 for the first), with full jitter:
 * uniform in [0, min(maxMs, initialMs * 2^(retry-1))). Jitter spreads the retries
 * of many senders instead of having them hit a recovering receiver together.
 */
export function backoffDelayMs(retry: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(retry, 1) - 1, 40));
  return Math.floor(random() * ceiling);
}

/**
 * The delay a Retry-After header asks for, in ms: delta-seconds ("120") or an
 * HTTP date, read against `nowMs`; undefined when absent or unreadable.
 */
export function retryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1_000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(at - nowMs, 0), MAX_RETRY_AFTER_MS);
}
