import type { Alert, AlertEvent } from "../domain/alert.js";
import type { Clock } from "../domain/time.js";
import type { CostStore } from "./cost-store.js";
import { InvalidRequestError } from "./errors.js";

/** What a watcher receives. */
export type FeedItem =
  | { readonly kind: "active"; readonly alert: Alert }
  | { readonly kind: "event"; readonly event: AlertEvent }
  | { readonly kind: "heartbeat"; readonly cursor: string; readonly atMs: number }
  /** The last item before the stream ends on purpose: resume after `cursor`. */
  | { readonly kind: "resume"; readonly cursor: string; readonly reason: string };

/** How to watch. */
export interface WatchOptions {
  /** Replay after this cursor; undefined: only events committed from now on. */
  readonly after?: string | undefined;
  /** Only these clusters; undefined for all. */
  readonly clusterIds?: readonly string[] | undefined;
  /** Send the active alerts first. */
  readonly includeActive?: boolean;
  readonly signal: AbortSignal;
}

/** Tuning of the feed. */
export interface AlertFeedOptions {
  /** Recent events kept in memory and shared by live watchers; a watcher further behind is told to resume (default 2,000). */
  readonly windowEvents: number;
  /** Idle time before a heartbeat (default 15 s). */
  readonly heartbeatMs: number;
  /** Events read from the store per page while replaying (default 500). */
  readonly replayPageSize: number;
  /** Watchers woken per turn of the event loop when new events arrive (default 100). */
  readonly wakePerTurn: number;
}

const DEFAULTS: Readonly<AlertFeedOptions> = { windowEvents: 2_000, heartbeatMs: 15_000, replayPageSize: 500, wakePerTurn: 100 };

type WaitOutcome = "changed" | "timeout" | "aborted";

/** One watcher's way to sleep until the window grows, its heartbeat is due or it is aborted. */
interface Sleeper {
  wait(): Promise<WaitOutcome>;
  wake(outcome: WaitOutcome): void;
  dispose(): void;
}

/** The alert feed: persisted events replayed from any cursor, then followed live. */
export interface AlertFeed {
  /** New events were committed (here or, with a shared store, elsewhere): read them. */
  notify(): void;
  /** Replays after a cursor, then follows live; ends with a "resume" item when the watcher falls out of the window or the feed closes. */
  watch(options: WatchOptions): AsyncGenerator<FeedItem>;
  /** Watchers currently open. */
  readonly watchers: number;
  /** Ends every watcher with a "resume" item. */
  close(reason: string): void;
}

/** Raised to a watcher whose resume cursor is older than the feed's retention. */
export class FeedCursorExpiredError extends Error {
  constructor(readonly cursor: string) {
    super(`cursor ${cursor} is older than the alert feed's retention; resume with include_active instead`);
    this.name = "FeedCursorExpiredError";
  }
}

/**
 * Watchers pull: each reads the events after its own position from a shared
 * in-memory window of recent events (filled by one reader of the store), or from
 * the store while it replays old ones. Nothing is pushed into per-watcher queues,
 * so a slow watcher costs no memory; once it falls out of the window it gets a
 * "resume" item with its last cursor and the stream ends.
 */
export function createAlertFeed(store: CostStore, clock: Clock, options: Partial<AlertFeedOptions> = {}): AlertFeed {
  const { windowEvents, heartbeatMs, replayPageSize, wakePerTurn } = { ...DEFAULTS, ...options };
  // window[i] has absolute position base + i; positions of cursors in the window.
  let window: AlertEvent[] = [];
  let base = 0;
  const positions = new Map<string, number>();
  /** Cursor of the event just before window[0] ("" when the feed was empty then). */
  let beforeWindow = "";
  let tail: string | undefined;
  let reading: Promise<void> | undefined;
  let pendingRead = false;
  // Watchers waiting for the window to grow; each removes itself when it stops waiting.
  const waiters = new Set<Sleeper>();
  let closedReason: string | undefined;
  let watcherCount = 0;

  async function readTail(): Promise<void> {
    if (tail === undefined) {
      tail = await store.latestAlertCursor();
      beforeWindow = tail;
    }
    const readFrom = tail;
    for (;;) {
      const { events } = await store.readAlertEvents({ after: tail, limit: replayPageSize });
      if (events.length === 0) break;
      for (const event of events) {
        positions.set(event.cursor, base + window.length);
        window.push(event);
        tail = event.cursor;
      }
      while (window.length > windowEvents) {
        const dropped = window.shift() as AlertEvent;
        positions.delete(dropped.cursor);
        beforeWindow = dropped.cursor;
        base++;
      }
    }
    // Only new events are worth waking for: every idle watcher's heartbeat reads the tail,
    // and waking all watchers on each of those reads would cost the square of their number.
    if (tail !== readFrom) wakeAll();
  }

  /**
   * Wakes the waiting watchers `wakePerTurn` at a time, one slice per turn of the event
   * loop. Woken all at once, every watcher's delivery would run in one turn, and HTTP/2
   * writes nothing to the sockets until the turn ends: the first watcher would wait for
   * the last. A slice's messages leave while the next slice is prepared. A watcher woken
   * twice (by an overlapping pass) just finds nothing new and waits again.
   */
  function wakeAll(): void {
    const sleepers = [...waiters];
    let at = 0;
    const wakeSlice = (): void => {
      for (const end = Math.min(sleepers.length, at + wakePerTurn); at < end; at++) (sleepers[at] as Sleeper).wake("changed");
      if (at < sleepers.length) setImmediate(wakeSlice);
    };
    wakeSlice();
  }

  function refresh(): Promise<void> {
    if (reading) {
      pendingRead = true;
      return reading;
    }
    reading = readTail()
      .catch(() => {
        // The store failed: retried at the next notify or heartbeat; watchers keep their positions.
      })
      .finally(() => {
        reading = undefined;
        if (pendingRead) {
          pendingRead = false;
          void refresh();
        }
      });
    return reading;
  }

  /** Absolute position of the first event after `cursor` if it is in the window, else undefined. */
  function positionAfter(cursor: string): number | undefined {
    if (cursor === tail) return base + window.length;
    const at = positions.get(cursor);
    if (at !== undefined) return at + 1;
    if (cursor === beforeWindow) return base;
    return undefined;
  }

  async function* watch(opts: WatchOptions): AsyncGenerator<FeedItem> {
    watcherCount++;
    const sleeper = createSleeper(opts.signal, heartbeatMs, waiters);
    try {
      if (tail === undefined) await refresh();
      const visible = opts.clusterIds ? new Set(opts.clusterIds) : undefined;
      const shows = (alert: Alert): boolean => !visible || visible.has(alert.clusterId);
      let cursor = opts.after ?? (tail as string);
      const snapshot = new Set<string>();
      if (opts.includeActive) {
        let after: string | undefined;
        do {
          const page = await store.listAlerts({ clusterIds: opts.clusterIds, state: "active", after, limit: 500 });
          for (const alert of page.alerts) {
            snapshot.add(alert.id);
            yield { kind: "active", alert };
          }
          after = page.next;
        } while (after);
      }
      const deliver = (event: AlertEvent): FeedItem | undefined => {
        cursor = event.cursor;
        if (!shows(event.alert)) return undefined;
        // The snapshot already showed this alert; its TRIGGERED event would repeat it.
        if (event.type === "triggered" && snapshot.has(event.alert.id)) return undefined;
        return { kind: "event", event };
      };

      // Once the starting position is known to be good, say so with a heartbeat: the
      // client holds a cursor before any event, so even a stream cut at once resumes
      // without loss (and a quiet stream shows it is open).
      let greeted = false;
      const greeting = (): FeedItem | undefined => {
        if (greeted) return undefined;
        greeted = true;
        return { kind: "heartbeat", cursor, atMs: clock.now() };
      };

      // Replay from the store until the position is inside the in-memory window.
      let next = positionAfter(cursor);
      while (next === undefined) {
        if (closedReason !== undefined) return yield { kind: "resume", cursor, reason: closedReason };
        const { events, expired } = await store.readAlertEvents({ after: cursor, limit: replayPageSize });
        if (expired) throw new FeedCursorExpiredError(cursor);
        const hello = greeting();
        if (hello) yield hello;
        for (const event of events) {
          const item = deliver(event);
          if (item) yield item;
        }
        next = positionAfter(cursor);
        if (next === undefined && events.length === 0) {
          // Caught up with the store before the window learned of it.
          await refresh();
          next = positionAfter(cursor);
          if (next === undefined && (await sleeper.wait()) === "aborted") return;
        }
      }

      const hello = greeting();
      if (hello) yield hello;

      // Live: follow the window.
      for (;;) {
        if (opts.signal.aborted) return;
        if (closedReason !== undefined) return yield { kind: "resume", cursor, reason: closedReason };
        if (next < base) return yield { kind: "resume", cursor, reason: "watcher too slow: it fell behind the feed's window" };
        if (next < base + window.length) {
          const item = deliver(window[next - base] as AlertEvent);
          next++;
          if (item) yield item;
          continue;
        }
        const outcome = await sleeper.wait();
        if (outcome === "aborted") return;
        if (outcome === "timeout") {
          void refresh();
          yield { kind: "heartbeat", cursor, atMs: clock.now() };
        }
      }
    } finally {
      sleeper.dispose();
      watcherCount--;
    }
  }

  return {
    notify: () => void refresh(),
    watch(opts) {
      if (opts.after !== undefined && opts.after !== "" && !/^[\x21-\x7e]{1,200}$/.test(opts.after)) {
        throw new InvalidRequestError("resume_after", "is not a cursor of this feed");
      }
      return watch(opts);
    },
    get watchers() {
      return watcherCount;
    },
    close(reason) {
      closedReason = reason;
      wakeAll();
    },
  };
}

/**
 * A sleeper with one abort listener and one heartbeat timer for the whole watch,
 * re-armed on each wait: a fan-out puts every watcher back to sleep after each event,
 * and a timer plus listener plus closures per wait showed up in its profile.
 */
function createSleeper(signal: AbortSignal, heartbeatMs: number, waiters: Set<Sleeper>): Sleeper {
  let resolveWait: ((outcome: WaitOutcome) => void) | undefined;
  const sleeper: Sleeper = {
    wait() {
      if (signal.aborted) return Promise.resolve("aborted");
      // Restarts the idle period; a timer that fired while the watcher was busy fires again.
      timer.refresh();
      waiters.add(sleeper);
      return new Promise((resolve) => (resolveWait = resolve));
    },
    wake(outcome) {
      const resolve = resolveWait;
      if (!resolve) return;
      resolveWait = undefined;
      waiters.delete(sleeper);
      resolve(outcome);
    },
    dispose() {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      waiters.delete(sleeper);
    },
  };
  const timer = setTimeout(() => sleeper.wake("timeout"), heartbeatMs);
  const onAbort = (): void => sleeper.wake("aborted");
  signal.addEventListener("abort", onAbort, { once: true });
  return sleeper;
}
