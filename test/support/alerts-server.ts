import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BudgetPeriod, CostBudgetSchema, type CostBudget } from "../../gen/dreamnet/cost/v1/budget_pb.js";
import { CostRecordSchema, type CostRecord as CostRecordProto } from "../../gen/dreamnet/cost/v1/cost_record_pb.js";
import type { WatchAlertsRequest, WatchAlertsResponse } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { MoneySchema, type Money as MoneyProto } from "../../gen/dreamnet/cost/v1/money_pb.js";
import { timestampFromMs } from "../../src/api/time-mapping.js";
import { createCostClient, type CostClient } from "../../src/client/index.js";
import type { AlertFeedOptions } from "../../src/core/alert-feed.js";
import { createCostCore, type CostCore } from "../../src/core/cost-core.js";
import type { CostStore } from "../../src/core/cost-store.js";
import type { CostRecord } from "../../src/domain/cost-record.js";
import type { Money } from "../../src/domain/money.js";
import type { Clock } from "../../src/domain/time.js";
import { createSilentLogger } from "../../src/logger.js";
import { startServer, type RunningServer, type ServerOptions } from "../../src/server.js";
import { createSqliteCostStore } from "../../src/store/sqlite/sqlite-cost-store.js";

/** A clock moved by hand: tests live at exact instants and never sleep to pass time. */
export interface ManualClock extends Clock {
  set(ms: number): void;
  advance(ms: number): void;
}

/** A clock reading `startMs` until told otherwise. */
export function createManualClock(startMs: number): ManualClock {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    set: (ms) => void (nowMs = ms),
    advance: (ms) => void (nowMs += ms),
  };
}

/** How to build a core for budget and alert tests. */
export interface AlertsCoreOptions {
  readonly nowMs: number;
  /** Feed tuning, e.g. a small window or a short heartbeat. */
  readonly feed?: Partial<AlertFeedOptions>;
  /** SQLite file; ":memory:" by default. */
  readonly storePath?: string;
  /** Wraps the store, e.g. to note when alerts are committed (the real store still does the work). */
  readonly wrapStore?: (store: CostStore) => CostStore;
  /** Server stream limits, e.g. more than the default 64 streams for the one development-mode principal. */
  readonly streamLimits?: ServerOptions["streamLimits"];
}

/** A core over a SQLite store with a manual clock. */
export interface AlertsCore {
  readonly core: CostCore;
  readonly clock: ManualClock;
  close(): Promise<void>;
}

/** Builds a core over SQLite (in memory unless told otherwise). */
export function createAlertsCore(options: AlertsCoreOptions): AlertsCore {
  const clock = createManualClock(options.nowMs);
  const raw = createSqliteCostStore({ path: options.storePath ?? ":memory:" });
  const store = options.wrapStore ? options.wrapStore(raw) : raw;
  const core = createCostCore({ store, clock, feed: options.feed });
  return { core, clock, close: () => core.close() };
}

/** A core served on a loopback port. */
export interface AlertsServer extends AlertsCore {
  readonly url: string;
  readonly server: RunningServer;
  /** A gRPC client on its own HTTP/2 connection. */
  newClient(): CostClient;
  /** A shared gRPC client. */
  readonly client: CostClient;
}

/** Starts a core and a server on 127.0.0.1 with a free port. */
export async function startAlertsServer(options: AlertsCoreOptions): Promise<AlertsServer> {
  const built = createAlertsCore(options);
  const server = await startServer(built.core, createSilentLogger(), {
    host: "127.0.0.1",
    port: 0,
    shutdownGraceMs: 500,
    ...(options.streamLimits ? { streamLimits: options.streamLimits } : {}),
  });
  const newClient = (): CostClient => createCostClient({ baseUrl: server.url, protocol: "grpc" });
  return {
    ...built,
    url: server.url,
    server,
    newClient,
    client: newClient(),
    async close() {
      // A watcher whose client stops reading keeps its connection open past shutdown: end them first.
      cancelOpenWatchers();
      await server.close();
      await built.core.close();
    },
  };
}

/** Nano-units in one unit. */
export const UNIT = 1_000_000_000n;

/** A domain USD amount of `nanos` nano-units. */
export function usd(nanos: bigint): Money {
  return { currency: "USD", nanos };
}

/** A wire amount of `nanos` nano-units. */
export function wireMoney(nanos: bigint, currencyCode = "USD"): MoneyProto {
  const units = nanos / UNIT;
  return create(MoneySchema, { currencyCode, units, nanos: Number(nanos - units * UNIT) });
}

/** Integer nano-units of a wire amount (undefined reads as 0). */
export function nanosOf(value: MoneyProto | undefined): bigint {
  return value === undefined ? 0n : value.units * UNIT + BigInt(value.nanos);
}

let sequence = 0;

/** A domain record: `nanos` USD of cluster `clusterId` at `atMs`. */
export function domainRecord(spec: { clusterId: string; nanos: bigint; atMs: number; currency?: string; id?: string }): CostRecord {
  return {
    id: spec.id ?? `rec-${++sequence}-${spec.clusterId}`,
    clusterId: spec.clusterId,
    provider: "openai",
    operation: "chat-completion",
    model: "gpt-4",
    cost: { currency: spec.currency ?? "USD", nanos: spec.nanos },
    timestampMs: spec.atMs,
    traceId: "",
    metadataJson: "",
  };
}

/** A wire record: `nanos` of a currency (USD by default) for cluster `clusterId` at `atMs`. */
export function wireRecord(spec: { clusterId: string; nanos: bigint; atMs: number; currency?: string; id?: string }): CostRecordProto {
  return create(CostRecordSchema, {
    id: spec.id ?? `wire-${++sequence}-${spec.clusterId}`,
    clusterId: spec.clusterId,
    provider: "openai",
    operation: "chat-completion",
    model: "gpt-4",
    cost: wireMoney(spec.nanos, spec.currency),
    timestamp: timestampFromMs(spec.atMs),
  });
}

/** What a test says about a budget; the rest has defaults (10 USD monthly in UTC, thresholds [50, 80]). */
export interface BudgetSpec {
  id: string;
  clusterId: string;
  amountNanos?: bigint;
  currency?: string;
  period?: BudgetPeriod;
  thresholds?: number[];
  enabled?: boolean;
  timeZone?: string;
}

/** A wire budget from a spec. */
export function wireBudget(spec: BudgetSpec): CostBudget {
  return create(CostBudgetSchema, {
    id: spec.id,
    clusterId: spec.clusterId,
    amount: wireMoney(spec.amountNanos ?? 10n * UNIT, spec.currency ?? "USD"),
    period: spec.period ?? BudgetPeriod.MONTHLY,
    alertThresholds: spec.thresholds ?? [50, 80],
    enabled: spec.enabled ?? true,
    timeZone: spec.timeZone ?? "",
  });
}

/** The ConnectError a call failed with; throws if it succeeded. */
export async function errorOf(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** The code and message a caller sees, for exact assertions. */
export async function failure(call: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await errorOf(call);
  return { code: Code[error.code], message: error.rawMessage };
}

/**
 * An open WatchAlerts stream read one message at a time: the test decides when to
 * pull, so it can also stop pulling (a slow watcher).
 */
export interface Watcher {
  /** The heartbeat a stream opens with (its starting position), once it has been read. */
  greeting: WatchAlertsResponse | undefined;
  /** The next message; undefined once the stream has ended. */
  next(): Promise<WatchAlertsResponse | undefined>;
  /** Reads until `done` says stop (inclusive); returns everything read. Throws if the stream ends first. */
  readUntil(done: (message: WatchAlertsResponse) => boolean): Promise<WatchAlertsResponse[]>;
  /** Reads until the stream ends; returns everything read. */
  readToEnd(): Promise<WatchAlertsResponse[]>;
  /** Cancels the call. */
  cancel(): void;
}

const openWatchers = new Set<Watcher>();

/** Cancels every watcher still open (tests end their streams before closing the server). */
export function cancelOpenWatchers(): void {
  for (const watcher of openWatchers) watcher.cancel();
}

/** Opens WatchAlerts on a client. */
export function openWatcher(client: CostClient, request: Partial<Pick<WatchAlertsRequest, "clusterId" | "resumeAfter" | "includeActive">> = {}): Watcher {
  const abort = new AbortController();
  const iterator = client.watchAlerts(request, { signal: abort.signal })[Symbol.asyncIterator]();
  let ended = false;
  let greeted = false;
  const next = async (): Promise<WatchAlertsResponse | undefined> => {
    if (ended) return undefined;
    let result = await iterator.next();
    // Every stream's first heartbeat comes at once, with its starting position (after the
    // active alerts, before any event; tested on its own): the suites read around it.
    if (!greeted && !result.done && result.value.message.case === "heartbeat") {
      greeted = true;
      watcher.greeting = result.value;
      result = await iterator.next();
    }
    if (result.done) {
      ended = true;
      return undefined;
    }
    return result.value;
  };
  const watcher: Watcher = {
    greeting: undefined,
    next,
    async readUntil(done) {
      const read: WatchAlertsResponse[] = [];
      for (;;) {
        const message = await next();
        if (message === undefined) throw new Error(`stream ended after ${read.length} messages before the expected one`);
        read.push(message);
        if (done(message)) return read;
      }
    },
    async readToEnd() {
      const read: WatchAlertsResponse[] = [];
      for (let message = await next(); message !== undefined; message = await next()) read.push(message);
      return read;
    },
    cancel() {
      ended = true;
      openWatchers.delete(watcher);
      abort.abort();
    },
  };
  openWatchers.add(watcher);
  return watcher;
}

/** A client-streaming request body the test feeds by hand, then ends. */
export interface Pushable<T> extends AsyncIterable<T> {
  push(value: T): void;
  end(): void;
}

/** An async iterable fed with push() and closed with end(). */
export function createPushable<T>(): Pushable<T> {
  const queue: T[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  return {
    push(value) {
      queue.push(value);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const value = queue.shift();
        if (value !== undefined) {
          yield value;
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
  };
}

/** Splits a list into chunks of `size`. */
export function chunked<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
