import { createCostClient, type CostClient } from "../../../src/client/index.js";
import { createCostCore, type CostCore } from "../../../src/core/cost-core.js";
import type { Alert } from "../../../src/domain/alert.js";
import type { Clock } from "../../../src/domain/time.js";
import { createSilentLogger } from "../../../src/logger.js";
import { startServer, type RunningServer } from "../../../src/server.js";
import { createSqliteCostStore } from "../../../src/store/sqlite/sqlite-cost-store.js";

/** 2025-03-10T12:00:00Z: a whole second, ten days into a month. */
export const T0 = Date.UTC(2025, 2, 10, 12, 0, 0);

/** A clock that reads a fixed instant until moved. */
export interface FixedClock extends Clock {
  advance(ms: number): void;
}

/** A Cost Core server on a loopback port over SQLite, with its core in the test's hands. */
export interface CostServer {
  readonly url: string;
  readonly port: number;
  readonly core: CostCore;
  readonly clock: FixedClock;
  /** A gRPC client, as the bridge uses it. */
  client(): CostClient;
  close(): Promise<void>;
}

/** How to start it. */
export interface CostServerOptions {
  /** SQLite file; ":memory:" by default. */
  readonly storePath?: string;
  /** A port to reuse (after a restart); a free one by default. */
  readonly port?: number;
  /** Idle time before the feed sends a heartbeat (default 100 ms, so cursors move quickly). */
  readonly heartbeatMs?: number;
  readonly nowMs?: number;
}

/** Starts store, core and server as the other suites do, with an injected clock. */
export async function startCostServer(options: CostServerOptions = {}): Promise<CostServer> {
  let nowMs = options.nowMs ?? T0;
  const clock: FixedClock = { now: () => nowMs, advance: (ms) => void (nowMs += ms) };
  const store = createSqliteCostStore({ path: options.storePath ?? ":memory:" });
  const core = createCostCore({ store, clock, feed: { heartbeatMs: options.heartbeatMs ?? 100 } });
  const server: RunningServer = await startServer(core, createSilentLogger(), { host: "127.0.0.1", port: options.port ?? 0, shutdownGraceMs: 200 });
  return {
    url: server.url,
    port: server.port,
    core,
    clock,
    client: () => createCostClient({ baseUrl: server.url, protocol: "grpc" }),
    async close() {
      await server.close();
      await core.close();
    },
  };
}

let recordSequence = 0;

/** A 10 USD monthly budget (thresholds 50 and 80) for a cluster, then `spentUsd` of spend on it: alerts follow. */
export async function overspend(core: CostCore, clusterId: string, spentUsd: number): Promise<void> {
  await core.budgets.set(
    {
      id: `budget-${clusterId}`,
      clusterId,
      amount: { currency: "USD", nanos: 10_000_000_000n },
      period: "monthly",
      thresholds: [50, 80],
      enabled: true,
      timeZone: "UTC",
    },
    "tester",
  );
  await core.ingest.record([
    {
      id: `rec-${++recordSequence}`,
      clusterId,
      provider: "openai",
      operation: "chat-completion",
      model: "gpt-4",
      cost: { currency: "USD", nanos: BigInt(Math.round(spentUsd * 1e9)) },
      timestampMs: core.clock.now() - 60_000,
      traceId: "",
      metadataJson: "",
    },
  ]);
  await core.engine.idle();
}

/** Every alert of the server, any state. */
export async function allAlerts(core: CostCore): Promise<Alert[]> {
  const found: Alert[] = [];
  let after: string | undefined;
  do {
    const page = await core.alerts.list({ state: "all", after, limit: 500 });
    found.push(...page.alerts);
    after = page.next;
  } while (after);
  return found;
}

/** Acknowledges every active alert. */
export async function acknowledgeAll(core: CostCore): Promise<void> {
  for (const alert of await allAlerts(core)) {
    if (!alert.acknowledged) await core.alerts.acknowledge({ alertId: alert.id, by: "tester", note: "seen" });
  }
}

/** The CloudEvent ids the bridge must deliver for the server's alerts. */
export async function expectedAlertEventIds(core: CostCore): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const alert of await allAlerts(core)) {
    ids.add(`${alert.id}.triggered`);
    if (alert.acknowledged) ids.add(`${alert.id}.acknowledged`);
  }
  return ids;
}
