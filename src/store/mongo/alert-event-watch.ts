import type { ChangeStream, Db, Document, ResumeToken } from "mongodb";
import { COLLECTIONS } from "./documents.js";

/** A running watch; close() stops it and resolves once it has stopped. */
export interface AlertEventWatch {
  close(): Promise<void>;
}

/** How the watch reconnects. */
export interface AlertEventWatchOptions {
  /** First wait before reopening after an error (default 500 ms); doubles per failure. */
  readonly initialBackoffMs: number;
  /** Longest wait between reopening attempts (default 30 s). */
  readonly maxBackoffMs: number;
  /** Told about each error before the watch reopens (default: ignored). */
  readonly onError: (error: unknown) => void;
}

const DEFAULTS: Readonly<AlertEventWatchOptions> = { initialBackoffMs: 500, maxBackoffMs: 30_000, onError: () => {} };

// The server can no longer resume from the token (the oplog rolled past it): start afresh.
const TOKEN_LOST_CODES = new Set([260, 280, 286]);

function tokenLost(error: unknown): boolean {
  return typeof error === "object" && error !== null && TOKEN_LOST_CODES.has((error as { code?: unknown }).code as number);
}

/**
 * Calls `onInsert` whenever any instance appends an alert feed event, through a
 * change stream on alert_events. The events themselves are always read from the
 * collection by cursor (AlertFeed.notify re-reads after its tail), so this is only
 * a wake-up: a missed notification delays delivery until the next one or the
 * feed's heartbeat refresh, it never loses an event. After a transient error the
 * stream is reopened with backoff, resuming after the last change seen, and
 * `onInsert` is called once so events committed while it was down are read.
 */
export function watchAlertEventInserts(db: Db, onInsert: () => void, options: Partial<AlertEventWatchOptions> = {}): AlertEventWatch {
  const { initialBackoffMs, maxBackoffMs, onError } = { ...DEFAULTS, ...options };
  const collection = db.collection(COLLECTIONS.alertEvents);
  let stopped = false;
  let stream: ChangeStream<Document> | undefined;
  let resumeToken: ResumeToken | undefined;
  let wake: (() => void) | undefined;

  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      wake = done;
      function done(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
    });

  const running = (async () => {
    let backoffMs = initialBackoffMs;
    let reopening = false;
    while (!stopped) {
      try {
        stream = collection.watch([{ $match: { operationType: "insert" } }], resumeToken === undefined ? {} : { startAfter: resumeToken });
        if (reopening) onInsert();
        for await (const change of stream) {
          resumeToken = change._id;
          backoffMs = initialBackoffMs;
          onInsert();
        }
        // Ended without an error while not stopped: invalidated (e.g. the collection
        // was dropped); start over from now rather than from the invalidated token.
        if (!stopped) resumeToken = undefined;
      } catch (error) {
        if (stopped) break;
        if (tokenLost(error)) resumeToken = undefined;
        onError(error);
      } finally {
        const closing = stream;
        stream = undefined;
        await closing?.close().catch(() => {});
      }
      if (stopped) break;
      reopening = true;
      await pause(backoffMs);
      backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
    }
  })();

  return {
    async close() {
      stopped = true;
      wake?.();
      await stream?.close().catch(() => {});
      await running;
    },
  };
}
