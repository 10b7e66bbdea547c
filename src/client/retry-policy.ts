import { Code, ConnectError } from "@connectrpc/connect";
import type { CostService } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";

/** How a client retries calls that are safe to repeat. */
export interface RetryOptions {
  /** Attempts in all, the first included (default 5); 1 turns retries off. */
  readonly maxAttempts: number;
  /** Upper bound of the wait before the first retry (default 100 ms). */
  readonly initialBackoffMs: number;
  /** Upper bound of any wait between attempts (default 5,000 ms). */
  readonly maxBackoffMs: number;
  /** Growth of the bound from one retry to the next (default 2). */
  readonly backoffMultiplier: number;
  /**
   * Deadline of each attempt, so a hung attempt ends with DEADLINE_EXCEEDED and is
   * retried (default: none; a call's own `timeoutMs` still bounds all attempts together).
   */
  readonly attemptTimeoutMs: number | undefined;
  /** Called before each wait, e.g. to log (default: nothing). */
  readonly onRetry: ((event: RetryEvent) => void) | undefined;
  /** A number in [0, 1) for the jitter (default Math.random); injected by tests. */
  readonly random: () => number;
}

/** What a retry is about to do, for logs and tests. */
export interface RetryEvent {
  /** "RecordCost", "RecordCosts", ... */
  readonly method: string;
  /** The attempt that failed, counting from 1. */
  readonly attempt: number;
  readonly error: ConnectError;
  /** How long the client waits before the next attempt. */
  readonly delayMs: number;
}

/** The defaults, filled in once. */
export const DEFAULT_RETRY_OPTIONS: Readonly<RetryOptions> = {
  maxAttempts: 5,
  initialBackoffMs: 100,
  maxBackoffMs: 5_000,
  backoffMultiplier: 2,
  attemptTimeoutMs: undefined,
  onRetry: undefined,
  random: Math.random,
};

/** Options with every field filled, checked once. */
export function retryOptionsFrom(options: Partial<RetryOptions> = {}): Readonly<RetryOptions> {
  const merged: RetryOptions = { ...DEFAULT_RETRY_OPTIONS, ...withoutUndefined(options) };
  if (!Number.isInteger(merged.maxAttempts) || merged.maxAttempts < 1) throw new RangeError(`retry.maxAttempts must be a whole number >= 1 (got ${merged.maxAttempts})`);
  if (!(merged.initialBackoffMs >= 0) || !(merged.maxBackoffMs >= merged.initialBackoffMs)) {
    throw new RangeError("retry.initialBackoffMs must be >= 0 and retry.maxBackoffMs >= retry.initialBackoffMs");
  }
  if (!(merged.backoffMultiplier >= 1)) throw new RangeError(`retry.backoffMultiplier must be >= 1 (got ${merged.backoffMultiplier})`);
  return merged;
}

/**
 * Codes after which a safe call is repeated: the server (or the network) did not
 * answer, said it is overloaded, or did not answer in time. An attempt that got
 * such a code may or may not have been committed, so only calls whose repeat
 * changes nothing are retried (see METHOD_RETRY_SAFETY).
 */
export const RETRYABLE_CODES: ReadonlySet<Code> = new Set([Code.Unavailable, Code.ResourceExhausted, Code.DeadlineExceeded]);

/** Whether a failure is worth another attempt of a safe call. */
export function isRetryableError(error: ConnectError): boolean {
  return RETRYABLE_CODES.has(error.code);
}

/**
 * Why a method may or may not be repeated after a failure whose outcome is unknown:
 * - "idempotent": repeating it leaves the same state (record ids, upsert, first acknowledgment kept);
 * - "read": it changes nothing;
 * - "not-idempotent": a repeat can answer differently (DeleteBudget: NOT_FOUND after a lost success);
 * - "expensive": changes nothing but costs in proportion to the data, so a repeat after a
 *   timeout or an overload would likely fail the same way and double the load: not retried;
 * - "stream": a streaming call, retried only through the helpers that can replay it.
 */
export type RetrySafety = "idempotent" | "read" | "not-idempotent" | "expensive" | "stream";

/** Every CostService method, classified; a new RPC does not compile until it is classified here. */
export const METHOD_RETRY_SAFETY: Readonly<Record<keyof (typeof CostService)["method"], RetrySafety>> = {
  // The record id is the idempotency key: a repeat is reported as DUPLICATE and counted once.
  recordCost: "idempotent",
  // The request is a stream the interceptor cannot replay; recordCostsWithRetry re-sends it whole.
  recordCosts: "stream",
  getCostSummary: "read",
  listCostSummaries: "read",
  getCostBreakdown: "read",
  getCostSeries: "read",
  // A stream already read in part cannot be repeated without repeating records.
  exportCosts: "stream",
  // An upsert by id: a repeat stores the same budget (it may answer created=false).
  setBudget: "idempotent",
  getBudget: "read",
  listBudgets: "read",
  // A repeat after a lost success answers NOT_FOUND, which would mislead: never retried.
  deleteBudget: "not-idempotent",
  getBudgetStatus: "read",
  listAlerts: "read",
  // The first acknowledgment is kept: a repeat answers newly_acknowledged=false.
  acknowledgeAlert: "idempotent",
  // Has its own resume protocol (cursors, ResumeRequired).
  watchAlerts: "stream",
  listAuditEvents: "read",
  // Recounts every record (admin): left to the operator to repeat.
  verifyStore: "expensive",
};

/** Whether the retrying interceptor repeats a unary method (by its local name, e.g. "recordCost"). */
export function isRetrySafeUnary(localName: string): boolean {
  const safety = (METHOD_RETRY_SAFETY as Readonly<Record<string, RetrySafety | undefined>>)[localName];
  return safety === "idempotent" || safety === "read";
}

/**
 * The wait before retry number `retry` (1 for the first): exponential growth of an
 * upper bound, capped, with "equal jitter" (half the bound plus a random share of
 * the other half), so many clients failing together do not retry in lockstep and
 * no wait collapses to zero.
 */
export function backoffDelayMs(retry: number, options: Readonly<RetryOptions>): number {
  const bound = Math.min(options.maxBackoffMs, options.initialBackoffMs * options.backoffMultiplier ** (retry - 1));
  return Math.round(bound / 2 + options.random() * (bound / 2));
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(ConnectError.from(signal.reason, Code.Canceled));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(ConnectError.from(signal?.reason, Code.Canceled));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds, fails with a code that is not retryable, or
 * runs out of attempts; waits with backoff in between. `attempt` gets a signal
 * that ends at `attemptTimeoutMs` (with DEADLINE_EXCEEDED) or when `signal` aborts.
 */
export async function withRetries<T>(
  method: string,
  options: Readonly<RetryOptions>,
  signal: AbortSignal | undefined,
  attempt: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  for (let n = 1; ; n++) {
    const scope = attemptScope(signal, options.attemptTimeoutMs);
    try {
      return await attempt(scope.signal);
    } catch (thrown) {
      const error = ConnectError.from(thrown);
      // The caller cancelled or its own deadline passed: that is an answer, not a failure to retry.
      if (signal?.aborted || n >= options.maxAttempts || !isRetryableError(error)) throw thrown;
      const delayMs = backoffDelayMs(n, options);
      options.onRetry?.({ method, attempt: n, error, delayMs });
      await sleep(delayMs, signal);
    } finally {
      scope.dispose();
    }
  }
}

interface AttemptScope {
  readonly signal: AbortSignal;
  dispose(): void;
}

/** A signal for one attempt: the caller's, plus the attempt's own deadline. */
function attemptScope(parent: AbortSignal | undefined, timeoutMs: number | undefined): AttemptScope {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener("abort", onAbort, { once: true });
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => controller.abort(new ConnectError(`attempt timed out after ${timeoutMs} ms`, Code.DeadlineExceeded)), timeoutMs);
  return {
    signal: controller.signal,
    dispose() {
      if (timer !== undefined) clearTimeout(timer);
      parent?.removeEventListener("abort", onAbort);
    },
  };
}

function withoutUndefined<T extends object>(value: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
