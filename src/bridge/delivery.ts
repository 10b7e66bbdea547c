import type { Logger } from "../logger.js";
import { backoffDelayMs, retryAfterMs, type BackoffPolicy } from "./backoff.js";
import type { BridgeStatsRecorder } from "./bridge-stats.js";
import type { OutgoingEvent } from "./cloud-events.js";
import { SIGNATURE_HEADER, signatureHeader } from "./signature.js";

/** Waits `ms`, or less when `signal` aborts; never rejects. Injected so tests record delays instead of waiting. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** A Sleep on real timers. */
export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });

/** How events are POSTed to the receiver. */
export interface DeliveryOptions {
  /** The receiver's URL. */
  readonly endpoint: string;
  /** Shared secret of the `cost-core-signature` header. */
  readonly secret: string;
  /** Time allowed for one attempt, answer body included (default 10 s). */
  readonly timeoutMs: number;
  /** Attempts before an event the receiver refuses (4xx other than 408 and 429, or 3xx) is given up (default 5). */
  readonly maxAttempts: number;
  /** Attempts before a retryable failure (connection error, timeout, 5xx, 408, 429) is given up; Infinity retries until delivered or stopped (the bridge's default). */
  readonly maxRetryableAttempts: number;
  /** Delays between attempts (default 200 ms doubling to 30 s, full jitter); a Retry-After answer wins. */
  readonly backoff: BackoffPolicy;
  /** Uniform in [0, 1) (default Math.random). */
  readonly random: () => number;
  /** Default realSleep. */
  readonly sleep: Sleep;
  /** Epoch ms, for signatures and Retry-After dates (default Date.now). */
  readonly now: () => number;
  readonly logger: Logger;
  readonly stats: BridgeStatsRecorder;
}

/** How a delivery ended. */
export type DeliveryOutcome =
  | { readonly kind: "delivered"; readonly attempts: number; readonly status: number }
  /** Given up: refused too often, or (with a finite maxRetryableAttempts) failing too often. */
  | { readonly kind: "given-up"; readonly attempts: number; readonly status?: number | undefined; readonly reason: string; readonly response?: string | undefined }
  /** The bridge stopped first; the event counts as not delivered. */
  | { readonly kind: "aborted"; readonly attempts: number };

/** What one attempt gave. */
type AttemptResult =
  | { readonly kind: "ok"; readonly status: number }
  | { readonly kind: "retryable"; readonly reason: string; readonly status?: number; readonly retryAfterMs?: number | undefined; readonly response?: string }
  | { readonly kind: "refused"; readonly reason: string; readonly status: number; readonly response: string }
  | { readonly kind: "aborted" };

/** POSTs one event until the receiver accepts it, gives up, or the signal aborts. */
export type Deliver = (event: OutgoingEvent, signal: AbortSignal) => Promise<DeliveryOutcome>;

/** Longest part of an answer kept for logs and the dead-letter file. */
const RESPONSE_EXCERPT_CHARS = 1_024;

/** Creates the delivery function: signed POSTs with retries, backoff and timeouts. */
export function createDeliver(options: DeliveryOptions): Deliver {
  const { endpoint, secret, timeoutMs, maxAttempts, maxRetryableAttempts, backoff, random, sleep, now, logger, stats } = options;

  async function attemptOnce(event: OutgoingEvent, signal: AbortSignal): Promise<AttemptResult> {
    // Not AbortSignal.timeout(): inside AbortSignal.any() Node 20 may garbage-collect it before it fires
    // (nodejs/node#57736), and a receiver that never answers would then hold the bridge for good.
    // The timer's closure keeps this controller alive until it fires or is cleared.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new DOMException(`timed out after ${timeoutMs} ms`, "TimeoutError")), timeoutMs);
    try {
      return await attemptWithin(event, AbortSignal.any([signal, timeout.signal]), signal);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One POST, ended by `attemptSignal` (the caller's signal or the timeout); `signal` tells the two apart. */
  async function attemptWithin(event: OutgoingEvent, attemptSignal: AbortSignal, signal: AbortSignal): Promise<AttemptResult> {
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: "POST",
        headers: {
          "content-type": event.contentType,
          [SIGNATURE_HEADER]: signatureHeader(secret, event.body, now() / 1_000),
          "user-agent": "cost-core-bridge",
        },
        body: event.body,
        // A redirect is a configuration mistake to show, not to follow with a signed body.
        redirect: "manual",
        signal: attemptSignal,
      });
    } catch (error) {
      if (signal.aborted) return { kind: "aborted" };
      return { kind: "retryable", reason: describeFetchError(error, timeoutMs) };
    }
    // Read the answer (bounded by the same timeout) so the connection can be reused.
    let text = "";
    try {
      text = (await response.text()).slice(0, RESPONSE_EXCERPT_CHARS);
    } catch {
      if (signal.aborted) return { kind: "aborted" };
      // The status is known; a body cut short changes nothing.
    }
    const status = response.status;
    if (status >= 200 && status < 300) return { kind: "ok", status };
    if (status >= 500 || status === 408 || status === 429) {
      return { kind: "retryable", reason: `HTTP ${status}`, status, retryAfterMs: retryAfterMs(response.headers.get("retry-after"), now()), response: text };
    }
    return { kind: "refused", reason: `HTTP ${status}`, status, response: text };
  }

  return async (event, signal) => {
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return { kind: "aborted", attempts: attempt - 1 };
      stats.attempt(attempt > 1);
      const result = await attemptOnce(event, signal);
      if (result.kind === "aborted") return { kind: "aborted", attempts: attempt };
      if (result.kind === "ok") {
        logger.debug({ eventId: event.id, type: event.type, attempts: attempt, status: result.status }, "event delivered");
        return { kind: "delivered", attempts: attempt, status: result.status };
      }
      stats.failure();
      const limit = result.kind === "refused" ? maxAttempts : maxRetryableAttempts;
      if (attempt >= limit) {
        return { kind: "given-up", attempts: attempt, status: result.status, reason: result.reason, response: result.response };
      }
      const waitMs = (result.kind === "retryable" ? result.retryAfterMs : undefined) ?? backoffDelayMs(attempt, backoff, random);
      logger.warn(
        { eventId: event.id, type: event.type, attempt, status: result.status, reason: result.reason, retryInMs: waitMs },
        `delivery failed (${result.reason}); retrying`,
      );
      await sleep(waitMs, signal);
    }
  };
}

/** A short reason for a failed request: timeout, refused connection, reset, DNS... */
function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) return `timed out after ${timeoutMs} ms`;
  // undici wraps the socket error as `cause` of a TypeError("fetch failed").
  const cause = error instanceof Error ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
  if (cause?.code) return `connection error: ${cause.code}`;
  if (cause instanceof Error) return `connection error: ${cause.message}`;
  return `connection error: ${error instanceof Error ? error.message : String(error)}`;
}
