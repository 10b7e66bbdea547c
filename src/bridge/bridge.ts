import type { CostClient } from "../client/index.js";
import { createSilentLogger, type Logger } from "../logger.js";
import { followAlerts, type SendEvent } from "./alert-follower.js";
import { DEFAULT_BACKOFF, type BackoffPolicy } from "./backoff.js";
import { createBridgeStats, type BridgeStats } from "./bridge-stats.js";
import { appendDeadLetters, deadLetterEntryOf } from "./dead-letter.js";
import { createDeliver, realSleep, type Sleep } from "./delivery.js";
import { publishSpend } from "./spend-publisher.js";
import { redactedUrl } from "./redacted-url.js";
import { loadBridgeState } from "./state-file.js";

/** Everything the bridge can be told; see BRIDGE_DEFAULTS for the defaults. */
export interface BridgeOptions {
  /** A client of the Cost Core server to follow (scopes alerts:read and costs:read). */
  readonly client: CostClient;
  /** The Economic Engine URL the CloudEvents are POSTed to. */
  readonly endpoint: string;
  /** Shared secret signing each request (`cost-core-signature`). */
  readonly secret: string;
  /** Where the feed cursor is kept (default ./data/bridge-state.json). */
  readonly stateFile: string;
  /** JSON Lines of refused events (default ./data/bridge-dead-letter.jsonl). */
  readonly deadLetterFile: string;
  /** Time allowed for one delivery attempt (default 10 s). */
  readonly timeoutMs: number;
  /** Attempts before a refused event goes to the dead-letter file (default 5). */
  readonly maxAttempts: number;
  /** Time between spend updates (default 60 s); 0 sends none. */
  readonly spendIntervalMs: number;
  /** Retry and reconnect delays (default 200 ms doubling to 30 s, full jitter). */
  readonly backoff: BackoffPolicy;
  /** Feed messages read ahead of delivery (default 256). */
  readonly queueCapacity: number;
  /** A WatchAlerts stream silent this long is reconnected (default 60 s; the server heartbeats every 15 s). */
  readonly watchIdleTimeoutMs: number;
  /** Time between "bridge stats" log lines (default 60 s); 0 logs none. */
  readonly statsLogIntervalMs: number;
  /** Default: silent. */
  readonly logger: Logger;
  /** Uniform in [0, 1), for jitter (default Math.random). */
  readonly random: () => number;
  /** Waits before retries and reconnects (default real timers). */
  readonly sleep: Sleep;
  /** Waits between spend rounds (default real timers). */
  readonly intervalSleep: Sleep;
  /** Epoch ms (default Date.now). */
  readonly now: () => number;
  /** Aborting it drops everything at once, like a crash: nothing more is delivered or saved. */
  readonly signal?: AbortSignal | undefined;
}

/** The options a caller must give. */
export type BridgeRequiredOptions = Pick<BridgeOptions, "client" | "endpoint" | "secret">;

/** Defaults of the optional fields. */
export const BRIDGE_DEFAULTS: Readonly<Omit<BridgeOptions, keyof BridgeRequiredOptions | "logger" | "signal">> = {
  stateFile: "./data/bridge-state.json",
  deadLetterFile: "./data/bridge-dead-letter.jsonl",
  timeoutMs: 10_000,
  maxAttempts: 5,
  spendIntervalMs: 60_000,
  backoff: DEFAULT_BACKOFF,
  queueCapacity: 256,
  watchIdleTimeoutMs: 60_000,
  statsLogIntervalMs: 60_000,
  random: Math.random,
  sleep: realSleep,
  intervalSleep: realSleep,
  now: Date.now,
};

/** A running bridge. */
export interface RunningBridge {
  readonly stats: BridgeStats;
  /** Settles when the bridge has stopped: resolves after stop() or an abort, rejects on an error it cannot get past. */
  readonly done: Promise<void>;
  /** Abandons the delivery in flight without advancing the cursor, then resolves once everything has stopped. */
  stop(): Promise<void>;
}

/**
 * Starts the Economic Engine bridge: follows the alert feed from the persisted
 * cursor and delivers every event, at least once and in feed order, as a signed
 * CloudEvent; sends spend updates on a timer.
 */
export function startBridge(given: BridgeRequiredOptions & Partial<BridgeOptions>): RunningBridge {
  const options: BridgeOptions = { ...BRIDGE_DEFAULTS, logger: createSilentLogger(), ...given };
  const { client, logger, now, stateFile, deadLetterFile } = options;
  const stats = createBridgeStats(now);
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([controller.signal, options.signal]) : controller.signal;

  const deliver = createDeliver({ ...options, maxRetryableAttempts: Number.POSITIVE_INFINITY, stats });

  const sendAs =
    (kind: "alert" | "spend"): SendEvent =>
    async (event, sendSignal) => {
      const outcome = await deliver(event, sendSignal);
      switch (outcome.kind) {
        case "delivered":
          stats.delivered(kind, now());
          return "settled";
        case "aborted":
          return "aborted";
        case "given-up":
          // Written and fsynced before the cursor moves past the event, so a crash in between sends it again.
          await appendDeadLetters(deadLetterFile, [deadLetterEntryOf(event, outcome, now())]);
          stats.deadLetter();
          logger.error(
            { eventId: event.id, type: event.type, attempts: outcome.attempts, status: outcome.status, reason: outcome.reason, deadLetterFile },
            "the receiver refused the event; written to the dead-letter file (send it again with: cost-core bridge replay)",
          );
          return "settled";
      }
    };

  const run = async (): Promise<void> => {
    const state = await loadBridgeState(stateFile);
    if (state) stats.cursorSaved(state.cursor);
    logger.info(
      { endpoint: redactedUrl(options.endpoint), stateFile, deadLetterFile, cursor: state?.cursor, spendIntervalMs: options.spendIntervalMs },
      state ? "bridge starting from its saved cursor" : "bridge starting without a cursor: the active alerts first, then new events",
    );
    const lanes: Promise<void>[] = [
      followAlerts(
        {
          client,
          stateFile,
          initialCursor: state?.cursor,
          send: sendAs("alert"),
          stats,
          logger,
          backoff: options.backoff,
          random: options.random,
          sleep: options.sleep,
          now,
          queueCapacity: options.queueCapacity,
          watchIdleTimeoutMs: options.watchIdleTimeoutMs,
        },
        signal,
      ),
    ];
    if (options.spendIntervalMs > 0) {
      lanes.push(publishSpend({ client, send: sendAs("spend"), logger, intervalMs: options.spendIntervalMs, sleep: options.intervalSleep, now }, signal));
    }
    const statsTimer =
      options.statsLogIntervalMs > 0 ? setInterval(() => logger.info({ stats: stats.snapshot() }, "bridge stats"), options.statsLogIntervalMs) : undefined;
    statsTimer?.unref();
    // One lane failing stops the other, so the bridge fails as a whole.
    const stopOthers = (error: unknown): never => {
      controller.abort();
      throw error;
    };
    try {
      await Promise.all(lanes.map((lane) => lane.catch(stopOthers)));
    } finally {
      controller.abort();
      if (statsTimer) clearInterval(statsTimer);
    }
    logger.info({ stats: stats.snapshot() }, "bridge stopped");
  };

  const done = run();
  // Callers that only stop() still see the failure through done; this keeps it from being unhandled meanwhile.
  done.catch(() => {});
  return {
    stats,
    done,
    async stop() {
      controller.abort();
      await done.catch(() => {});
    },
  };
}
