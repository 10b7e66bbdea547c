import { ConfigError, parseConfig, settingsFromEnv, type RawSettings } from "../config.js";
import { createKeyRing, KeysFileError, loadKeysFile } from "../api/auth/api-keys.js";
import { createCostCore } from "../core/cost-core.js";
import { systemClock } from "../domain/time.js";
import { limitHeapGrowth } from "../heap-growth.js";
import { createLogger } from "../logger.js";
import { startEmbeddedBridge } from "./bridge-command.js";
import { createMetrics } from "../observability/metrics.js";
import { startServer } from "../server.js";
import { MongoStartupError } from "../store/mongo/mongo-errors.js";
import { openStore, type OpenedStore } from "../store/open-store.js";

/** `cost-core serve`: config from flags and env, then store, core and server; stops gracefully on SIGTERM/SIGINT. */
export async function serve(flags: RawSettings): Promise<void> {
  let config;
  try {
    config = parseConfig(settingsFromEnv(process.env), flags);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  limitHeapGrowth(config.heapGrowthPercent);
  const logger = createLogger(config.logLevel);
  let keyRing;
  try {
    keyRing = config.keysFile ? createKeyRing(loadKeysFile(config.keysFile)) : undefined;
  } catch (error) {
    if (error instanceof KeysFileError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  let opened: OpenedStore;
  try {
    opened = await openStore(config.store);
  } catch (error) {
    // A store that cannot start says why and what to fix (unreachable, credentials, not a replica set).
    if (error instanceof MongoStartupError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
  const core = createCostCore({
    store: opened.store,
    clock: systemClock,
    onBackgroundError: (error, task) => logger.error({ err: error, task }, "background task failed; retrying"),
  });
  // With a shared store (MongoDB), alerts raised or acknowledged on other instances
  // wake this instance's feed too; the events are read from the store by cursor.
  const feedWatch = opened.watchSharedFeed?.(() => core.feed.notify(), {
    onError: (error) => logger.warn({ err: error }, "alert feed change stream failed; reopening it"),
  });
  const metrics = createMetrics(core);
  const server = await startServer(core, logger, {
    host: config.host,
    port: config.port,
    readMaxBytes: config.readMaxBytes,
    shutdownGraceMs: config.shutdownGraceMs,
    tls: config.tls,
    keyRing,
    metrics,
    streamLimits: { maxStreamsPerKey: config.maxStreamsPerKey, maxWatchers: config.maxWatchers },
  });
  if (!keyRing) {
    logger.warn(
      { host: config.host, insecure: config.insecure },
      "DEVELOPMENT MODE: no API keys configured, every call is allowed without authentication. Set COST_CORE_KEYS_FILE for production",
    );
  } else {
    const changes = await core.audit.recordKeySet(
      keyRing.entries.map((k) => ({ id: k.id, fingerprint: k.secretSha256.slice(0, 8), scopes: k.scopes, clusters: k.clusters })),
    );
    logger.info({ keys: keyRing.size, changes: changes.map((c) => `${c.action} ${c.resourceId}`) }, "API keys loaded");
  }
  logger.info(
    { url: server.url, store: config.store.kind, path: config.store.kind === "sqlite" ? config.store.path : undefined },
    `Cost Core listening on ${server.url} (gRPC, gRPC-Web and Connect); dashboard at ${server.url}/`,
  );
  // The Economic Engine bridge follows this server like any client, so it starts once the server listens.
  const bridge = config.bridge ? await startEmbeddedBridge(config.bridge, server.url, logger) : undefined;
  if (bridge) metrics.watchBridge(bridge.stats);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: finishing calls in flight");
    void (async () => {
      try {
        // First, so it does not chase the server's "resume" messages while the server stops.
        await bridge?.stop();
        await server.close();
        await feedWatch?.close();
        await core.close();
        logger.info("stopped cleanly");
      } catch (error) {
        logger.error({ err: error }, "error during shutdown");
        process.exitCode = 1;
      } finally {
        logger.flush();
        process.exit();
      }
    })();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
