import { Code, ConnectError } from "@connectrpc/connect";
import type { AlertEvent, CostAlert } from "../../../gen/dreamnet/cost/v1/alert_pb.js";
import type { WatchAlertsResponse } from "../../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { rpcFailureOf, type RpcFailure } from "./rpc-failure.js";

/** Where one WatchAlerts call starts. */
export interface WatchRequest {
  /** The last cursor seen; "" when there is none yet. */
  readonly resumeAfter: string;
  /** Ask for the active alerts first: done whenever there is no cursor to resume from. */
  readonly includeActive: boolean;
}

/** How the live feed is doing, for the page's status line. */
export type WatchState =
  | { readonly kind: "connecting" }
  | { readonly kind: "live" }
  | { readonly kind: "retrying"; readonly inMs: number; readonly reason: string }
  | { readonly kind: "stopped"; readonly failure: RpcFailure };

/** What the watch loop needs. */
export interface AlertWatchOptions {
  /** Opens one WatchAlerts call; `onOpen` is called when the server answers (headers received). */
  readonly open: (request: WatchRequest, signal: AbortSignal, onOpen: () => void) => AsyncIterable<WatchAlertsResponse>;
  readonly onActive: (alert: CostAlert) => void;
  readonly onEvent: (event: AlertEvent) => void;
  readonly onState: (state: WatchState) => void;
  /**
   * A later call starts over without a cursor, so events in between may be
   * missing (an acknowledgment, say): the page should list the alerts again.
   */
  readonly onResync?: () => void;
  /** Ends the loop. */
  readonly signal: AbortSignal;
  /**
   * How long a call may stay unanswered without an error before it counts as live
   * (default 1,500 ms). The server sends response headers with its first message,
   * which on a quiet feed is the first heartbeat, seconds away; a refused or
   * unreachable call fails well within this time.
   */
  readonly assumeLiveAfterMs?: number;
  /** Delay after the first failed attempt in a row (default 1,000 ms), doubling per attempt. */
  readonly initialDelayMs?: number;
  /** Longest delay between attempts (default 30,000 ms). */
  readonly maxDelayMs?: number;
  /** Waits `ms` or until the signal aborts (default: a timer); tests pass their own. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Jitter source in [0, 1) (default Math.random). */
  readonly random?: () => number;
}

/**
 * Codes after which another attempt cannot help until something changes: a key,
 * a permission, the server. Not INVALID_ARGUMENT: a connection cut mid-message
 * surfaces as that too ("incomplete envelope").
 */
const FINAL_CODES: ReadonlySet<Code> = new Set([Code.Unauthenticated, Code.PermissionDenied, Code.Unimplemented]);
/** Codes that say the cursor is no good (too old, or from another feed): start over from the active alerts. */
const BAD_CURSOR_CODES: ReadonlySet<Code> = new Set([Code.FailedPrecondition, Code.InvalidArgument]);

/**
 * Follows the alert feed until `signal` aborts. It remembers the cursor of the
 * last event or heartbeat and, when the stream drops or the server sends
 * resume_required, opens a new call that resumes after it, so no event is lost
 * or repeated. Without a cursor (first call, or one the server refuses) it asks
 * for the active alerts first. Attempts that fail in a row back off
 * exponentially with jitter; a stream that delivered something reconnects at once.
 */
export async function runAlertWatch(options: AlertWatchOptions): Promise<void> {
  const { open, onActive, onEvent, onState, signal } = options;
  const initialDelayMs = options.initialDelayMs ?? 1_000;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const sleep = options.sleep ?? sleepMs;
  const random = options.random ?? Math.random;
  const assumeLiveAfterMs = options.assumeLiveAfterMs ?? 1_500;
  let cursor = "";
  let failuresInRow = 0;
  let firstCall = true;

  while (!signal.aborted) {
    onState({ kind: "connecting" });
    if (cursor === "" && !firstCall) options.onResync?.();
    firstCall = false;
    let reason = "the stream ended";
    let live = false;
    const markLive = (): void => {
      if (live) return;
      live = true;
      onState({ kind: "live" });
    };
    const assumeLive = setTimeout(markLive, assumeLiveAfterMs);
    try {
      for await (const response of open({ resumeAfter: cursor, includeActive: cursor === "" }, signal, markLive)) {
        markLive();
        const message = response.message;
        switch (message.case) {
          case "activeAlert":
            failuresInRow = 0;
            onActive(message.value);
            break;
          case "event":
            failuresInRow = 0;
            onEvent(message.value);
            if (message.value.cursor !== "") cursor = message.value.cursor;
            break;
          case "heartbeat":
            failuresInRow = 0;
            if (message.value.cursor !== "") cursor = message.value.cursor;
            break;
          case "resumeRequired":
            if (message.value.resumeAfter !== "") cursor = message.value.resumeAfter;
            reason = message.value.reason || "the server asked to resume";
            break;
          case undefined:
            break;
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      const failure = rpcFailureOf(error);
      const code = ConnectError.from(error).code;
      if (FINAL_CODES.has(code)) {
        onState({ kind: "stopped", failure });
        return;
      }
      if (BAD_CURSOR_CODES.has(code)) cursor = "";
      reason = `${failure.code}: ${failure.message}`;
    } finally {
      clearTimeout(assumeLive);
    }
    if (signal.aborted) return;
    const delayMs = failuresInRow === 0 ? 0 : Math.min(maxDelayMs, initialDelayMs * 2 ** (failuresInRow - 1)) * (0.8 + 0.4 * random());
    failuresInRow++;
    onState({ kind: "retrying", inMs: Math.round(delayMs), reason });
    if (delayMs > 0) await sleep(delayMs, signal);
  }
}

function sleepMs(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
