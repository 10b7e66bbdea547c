import { createCostClient, type CostClient } from "../../src/client/index.js";
import { createCostCore, type CostCore } from "../../src/core/cost-core.js";
import type { CostStore } from "../../src/core/cost-store.js";
import type { GroupCommitOptions } from "../../src/core/group-commit.js";
import type { Clock } from "../../src/domain/time.js";
import { createSilentLogger } from "../../src/logger.js";
import { startServer, type RunningServer } from "../../src/server.js";
import { createSqliteCostStore } from "../../src/store/sqlite/sqlite-cost-store.js";

/** A clock the test moves by hand: no sleeps, exact instants. */
export interface TestClock extends Clock {
  /** Sets the current instant (epoch ms). */
  set(ms: number): void;
  /** Moves the clock forward (or back, with a negative amount). */
  advance(ms: number): void;
}

/** Creates a clock that reads `startMs` until told otherwise. */
export function createTestClock(startMs: number): TestClock {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    set(ms) {
      nowMs = ms;
    },
    advance(ms) {
      nowMs += ms;
    },
  };
}

/** A real server on a loopback port over a SQLite store, with the clock in the test's hands. */
export interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly clock: TestClock;
  readonly core: CostCore;
  readonly server: RunningServer;
  /** A generated client speaking gRPC (HTTP/2) or the Connect protocol (HTTP/1.1). */
  client(protocol: "grpc" | "connect"): CostClient;
  /** Stops the server (short grace), then closes the core and its store. */
  close(): Promise<void>;
}

/** How to start a test server. */
export interface TestServerOptions {
  /** The injected clock's first instant. */
  readonly nowMs: number;
  /** SQLite file (default ":memory:"). */
  readonly storePath?: string;
  /** Group commit tuning (defaults as in production). */
  readonly groupCommit?: Partial<GroupCommitOptions>;
  /** Wraps the store, e.g. to hold its writes back. */
  readonly wrapStore?: (store: CostStore) => CostStore;
}

/** Starts core and server on 127.0.0.1 with a free port. */
export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const clock = createTestClock(options.nowMs);
  const sqlite = createSqliteCostStore({ path: options.storePath ?? ":memory:" });
  const store = options.wrapStore ? options.wrapStore(sqlite) : sqlite;
  const core = createCostCore({ store, clock, groupCommit: options.groupCommit });
  const server = await startServer(core, createSilentLogger(), { host: "127.0.0.1", port: 0, shutdownGraceMs: 1_000 });
  return {
    url: server.url,
    port: server.port,
    clock,
    core,
    server,
    client: (protocol) => createCostClient({ baseUrl: server.url, protocol }),
    async close() {
      await server.close();
      await core.close();
    },
  };
}
