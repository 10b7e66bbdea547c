/**
 * What the bridge has done and how far behind it is. Plain numbers behind
 * getters, so a metrics registry can read them at scrape time (e.g. a prom-client
 * gauge's `collect()` setting `bridge_pending_events` from `pendingEvents`).
 */
export interface BridgeStats {
  /** Feed events (and active alerts of a start without cursor) read from WatchAlerts. Counter. */
  readonly eventsReceived: number;
  /** Alert events the receiver accepted (2xx). Counter. */
  readonly eventsDelivered: number;
  /** Spend updates the receiver accepted. Counter. */
  readonly spendUpdatesDelivered: number;
  /** Events (alert or spend) written to the dead-letter file. Counter. */
  readonly deadLettered: number;
  /** HTTP requests sent to the receiver. Counter. */
  readonly deliveryAttempts: number;
  /** Attempts that did not end in a 2xx: connection errors, timeouts, non-2xx answers. Counter. */
  readonly deliveryFailures: number;
  /** Attempts that were retries of an earlier one. Counter. */
  readonly retries: number;
  /** WatchAlerts streams opened after the first one. Counter. */
  readonly reconnects: number;
  /** Cursor saves that failed (the event is delivered again after a restart). Counter. */
  readonly stateSaveFailures: number;
  /** Lag: feed items received but not yet delivered (or dead-lettered). Gauge. */
  readonly pendingEvents: number;
  /** Lag: age in seconds of the oldest pending feed item; 0 when none is pending. Gauge. */
  readonly oldestPendingSeconds: number;
  /** When the receiver last accepted an event (epoch ms); 0 before the first. Gauge. */
  readonly lastDeliveryAtMs: number;
  /** Seconds since the last accepted event, or since the bridge started when none was yet. Gauge. */
  readonly secondsSinceLastDelivery: number;
  /** 1 while a WatchAlerts stream is open, else 0. Gauge. */
  readonly connected: number;
  /** The last persisted feed cursor ("" before the first). */
  readonly cursor: string;
  /** All of the above as one plain object, for logs. */
  snapshot(): Readonly<Record<string, number | string>>;
}

/** The writing side of BridgeStats, used by the bridge's parts. */
export interface BridgeStatsRecorder extends BridgeStats {
  received(atMs: number): void;
  /** A pending feed item was delivered, dead-lettered or skipped. */
  settled(): void;
  /** Pending items were dropped (the bridge stopped; they are read again after a restart). */
  clearPending(): void;
  attempt(isRetry: boolean): void;
  failure(): void;
  delivered(kind: "alert" | "spend", atMs: number): void;
  deadLetter(): void;
  streamOpened(isReconnect: boolean): void;
  streamClosed(): void;
  cursorSaved(cursor: string): void;
  stateSaveFailed(): void;
}

/** Creates zeroed stats reading the time from `now`. */
export function createBridgeStats(now: () => number): BridgeStatsRecorder {
  const startedAtMs = now();
  const pendingSince: number[] = [];
  const c = {
    eventsReceived: 0,
    eventsDelivered: 0,
    spendUpdatesDelivered: 0,
    deadLettered: 0,
    deliveryAttempts: 0,
    deliveryFailures: 0,
    retries: 0,
    reconnects: 0,
    stateSaveFailures: 0,
    lastDeliveryAtMs: 0,
    connected: 0,
  };
  let cursor = "";
  const stats: BridgeStatsRecorder = {
    get eventsReceived() {
      return c.eventsReceived;
    },
    get eventsDelivered() {
      return c.eventsDelivered;
    },
    get spendUpdatesDelivered() {
      return c.spendUpdatesDelivered;
    },
    get deadLettered() {
      return c.deadLettered;
    },
    get deliveryAttempts() {
      return c.deliveryAttempts;
    },
    get deliveryFailures() {
      return c.deliveryFailures;
    },
    get retries() {
      return c.retries;
    },
    get reconnects() {
      return c.reconnects;
    },
    get stateSaveFailures() {
      return c.stateSaveFailures;
    },
    get pendingEvents() {
      return pendingSince.length;
    },
    get oldestPendingSeconds() {
      const oldest = pendingSince[0];
      return oldest === undefined ? 0 : Math.max(0, (now() - oldest) / 1_000);
    },
    get lastDeliveryAtMs() {
      return c.lastDeliveryAtMs;
    },
    get secondsSinceLastDelivery() {
      return Math.max(0, (now() - (c.lastDeliveryAtMs || startedAtMs)) / 1_000);
    },
    get connected() {
      return c.connected;
    },
    get cursor() {
      return cursor;
    },
    snapshot() {
      return {
        ...c,
        pendingEvents: stats.pendingEvents,
        oldestPendingSeconds: stats.oldestPendingSeconds,
        secondsSinceLastDelivery: stats.secondsSinceLastDelivery,
        cursor,
      };
    },
    received(atMs) {
      c.eventsReceived++;
      pendingSince.push(atMs);
    },
    settled() {
      pendingSince.shift();
    },
    clearPending() {
      pendingSince.length = 0;
    },
    attempt(isRetry) {
      c.deliveryAttempts++;
      if (isRetry) c.retries++;
    },
    failure() {
      c.deliveryFailures++;
    },
    delivered(kind, atMs) {
      if (kind === "alert") c.eventsDelivered++;
      else c.spendUpdatesDelivered++;
      c.lastDeliveryAtMs = atMs;
    },
    deadLetter() {
      c.deadLettered++;
    },
    streamOpened(isReconnect) {
      c.connected = 1;
      if (isReconnect) c.reconnects++;
    },
    streamClosed() {
      c.connected = 0;
    },
    cursorSaved(saved) {
      cursor = saved;
    },
    stateSaveFailed() {
      c.stateSaveFailures++;
    },
  };
  return stats;
}
