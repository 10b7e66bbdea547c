import { Code, ConnectError } from "@connectrpc/connect";
import type { AlertEvent, CostAlert } from "../../gen/dreamnet/cost/v1/alert_pb.js";
import type { CostClient } from "../client/index.js";
import type { Logger } from "../logger.js";
import { backoffDelayMs, type BackoffPolicy } from "./backoff.js";
import type { BridgeStatsRecorder } from "./bridge-stats.js";
import { createBoundedQueue } from "./bounded-queue.js";
import { cloudEventFromActiveAlert, cloudEventFromAlertEvent, type OutgoingEvent } from "./cloud-events.js";
import type { Sleep } from "./delivery.js";
import { saveBridgeState } from "./state-file.js";

/** The feed cannot be followed without a person's help (bad API key, a cursor of another server...). */
export class BridgeFeedError extends Error {
  constructor(
    message: string,
    readonly code: Code,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "BridgeFeedError";
  }
}

/** Delivers an event, or dead-letters it; "aborted" when the bridge stopped first (nothing was settled). */
export type SendEvent = (event: OutgoingEvent, signal: AbortSignal) => Promise<"settled" | "aborted">;

/** What the follower needs. */
export interface AlertFollowerDeps {
  readonly client: CostClient;
  readonly stateFile: string;
  /** The persisted cursor; undefined on a first start (the active alerts are sent first, then new events). */
  readonly initialCursor: string | undefined;
  readonly send: SendEvent;
  readonly stats: BridgeStatsRecorder;
  readonly logger: Logger;
  /** Reconnect delays. */
  readonly backoff: BackoffPolicy;
  readonly random: () => number;
  readonly sleep: Sleep;
  readonly now: () => number;
  /** Feed messages read ahead of delivery. */
  readonly queueCapacity: number;
  /** A stream silent this long (no event, no heartbeat) is treated as broken. */
  readonly watchIdleTimeoutMs: number;
}

/** A message of the stream, in feed order. */
type FeedItem =
  | { readonly kind: "event"; readonly event: AlertEvent }
  | { readonly kind: "active"; readonly alert: CostAlert }
  /** A heartbeat: every event before this position has been sent to us. */
  | { readonly kind: "position"; readonly cursor: string };

/** Why a stream ended. */
type StreamEnd =
  | { readonly kind: "resume"; readonly cursor: string; readonly reason: string }
  | { readonly kind: "ended" }
  | { readonly kind: "idle" }
  | { readonly kind: "failed"; readonly error: unknown };

/**
 * Follows WatchAlerts for good: each event is handed to `send` in feed order and
 * its cursor persisted only once `send` settled it, so a restart resumes after
 * the last settled event. Reconnects (with backoff) when the stream breaks or
 * the server asks to resume. Resolves when `signal` aborts; rejects with
 * BridgeFeedError when following cannot go on.
 */
export async function followAlerts(deps: AlertFollowerDeps, signal: AbortSignal): Promise<void> {
  const { client, stateFile, send, stats, logger, backoff, random, sleep, now, queueCapacity, watchIdleTimeoutMs } = deps;
  let cursor = deps.initialCursor;
  let streams = 0;
  let failuresInARow = 0;

  async function saveCursor(next: string): Promise<void> {
    // Heartbeats of an empty feed carry no cursor; a stopped bridge writes nothing more.
    if (next === "" || next === cursor || signal.aborted) return;
    cursor = next;
    try {
      await saveBridgeState(stateFile, { cursor: next, savedAtMs: now() });
      stats.cursorSaved(next);
    } catch (error) {
      // Delivery goes on from the in-memory cursor; after a restart the events since the last save are sent again.
      stats.stateSaveFailed();
      logger.error({ err: error, stateFile, cursor: next }, "cannot save the bridge cursor");
    }
  }

  /** Settles one item; false when the bridge stopped first. */
  async function settle(item: FeedItem): Promise<boolean> {
    switch (item.kind) {
      case "event": {
        const event = cloudEventFromAlertEvent(item.event);
        if (event) {
          if ((await send(event, signal)) === "aborted") return false;
        } else {
          logger.warn({ cursor: item.event.cursor, type: item.event.type }, "skipping an alert event of a type this bridge does not know");
        }
        await saveCursor(item.event.cursor);
        stats.settled();
        return true;
      }
      case "active":
        if ((await send(cloudEventFromActiveAlert(item.alert), signal)) === "aborted") return false;
        stats.settled();
        return true;
      case "position":
        await saveCursor(item.cursor);
        return true;
    }
  }

  /** Opens one stream and settles its items; undefined when the bridge stopped. */
  async function followStream(): Promise<{ end: StreamEnd; sawItem: boolean } | undefined> {
    const streamAbort = new AbortController();
    const onStop = (): void => streamAbort.abort();
    signal.addEventListener("abort", onStop, { once: true });
    const queue = createBoundedQueue<FeedItem, StreamEnd>(queueCapacity);
    const request = { resumeAfter: cursor ?? "", includeActive: cursor === undefined };
    let sawItem = false;
    let idle = false;
    let idleTimer: NodeJS.Timeout | undefined;
    // Armed only while waiting on the server, not while our own delivery holds the reader back.
    const arm = (): void => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        idle = true;
        streamAbort.abort();
      }, watchIdleTimeoutMs);
    };
    const disarm = (): void => clearTimeout(idleTimer);

    stats.streamOpened(streams++ > 0);
    logger.info({ resumeAfter: request.resumeAfter || undefined, includeActive: request.includeActive }, "following the alert feed");
    const reader = (async () => {
      arm();
      try {
        for await (const message of client.watchAlerts(request, { signal: streamAbort.signal })) {
          disarm();
          const m = message.message;
          if (m.case !== "resumeRequired") sawItem = true;
          if (m.case === "event") {
            stats.received(now());
            await queue.put({ kind: "event", event: m.value });
          } else if (m.case === "activeAlert") {
            stats.received(now());
            await queue.put({ kind: "active", alert: m.value });
          } else if (m.case === "heartbeat") {
            await queue.put({ kind: "position", cursor: m.value.cursor });
          } else if (m.case === "resumeRequired") {
            queue.close({ kind: "resume", cursor: m.value.resumeAfter, reason: m.value.reason });
            return;
          }
          arm();
        }
        queue.close(idle ? { kind: "idle" } : { kind: "ended" });
      } catch (error) {
        queue.close(idle ? { kind: "idle" } : { kind: "failed", error });
      } finally {
        disarm();
      }
    })();

    try {
      for (;;) {
        const next = await queue.take();
        if (signal.aborted) return undefined;
        if (next.done) {
          if (next.end.kind === "resume") await saveCursor(next.end.cursor);
          return { end: next.end, sawItem };
        }
        if (!(await settle(next.item))) return undefined;
      }
    } finally {
      signal.removeEventListener("abort", onStop);
      streamAbort.abort();
      queue.close({ kind: "ended" });
      await reader;
      stats.streamClosed();
      // Items read but not settled are read again from the cursor by the next stream (or run).
      if (signal.aborted) stats.clearPending();
    }
  }

  while (!signal.aborted) {
    const result = await followStream();
    if (result === undefined) return;
    const { end, sawItem } = result;
    if (sawItem) failuresInARow = 0;
    switch (end.kind) {
      case "resume":
        logger.info({ reason: end.reason, resumeAfter: end.cursor }, "the server ended the alert stream; resuming");
        // A stream that only said "resume" (a server shutting down) is retried with backoff, not in a tight loop.
        if (sawItem) continue;
        break;
      case "ended":
        logger.warn({ resumeAfter: cursor }, "the alert stream ended; reconnecting");
        break;
      case "idle":
        logger.warn({ resumeAfter: cursor, watchIdleTimeoutMs }, "no message (not even a heartbeat) on the alert stream; reconnecting");
        break;
      case "failed": {
        const error = ConnectError.from(end.error);
        if (FATAL_CODES.has(error.code)) {
          throw new BridgeFeedError(`cannot follow the alert feed: ${Code[error.code]}: ${error.rawMessage}${hintFor(error.code)}`, error.code, { cause: end.error });
        }
        if (error.code === Code.FailedPrecondition) {
          // The cursor is older than the feed's retention: events after it are gone from the server.
          logger.error({ cursor, err: error }, "the bridge cursor expired on the server; restarting from the active alerts (events in between may be missing)");
          cursor = undefined;
        } else {
          logger.warn({ code: Code[error.code], message: error.rawMessage, resumeAfter: cursor }, "the alert stream broke; reconnecting");
        }
        break;
      }
    }
    failuresInARow++;
    await sleep(backoffDelayMs(failuresInARow, backoff, random), signal);
  }
}

/** Codes a reconnect cannot fix. */
const FATAL_CODES: ReadonlySet<Code> = new Set([Code.Unauthenticated, Code.PermissionDenied, Code.InvalidArgument, Code.Unimplemented]);

function hintFor(code: Code): string {
  switch (code) {
    case Code.Unauthenticated:
    case Code.PermissionDenied:
      return " (the bridge needs an API key with the alerts:read and costs:read scopes)";
    case Code.InvalidArgument:
      return " (is the state file's cursor from another server or database? delete the state file to start from the active alerts)";
    default:
      return "";
  }
}
