import type { Command } from "commander";
import type { RunningBridge } from "../bridge/bridge.js";
import { redactedUrl } from "../bridge/redacted-url.js";
import { BRIDGE_SETTINGS, bridgeConfigFrom, bridgeSettingsFromEnv, mergeBridgeSettings, type BridgeConfig, type RawBridgeSettings } from "../bridge/bridge-config.js";
import { createCostClient } from "../client/index.js";
import { createLogger, type Logger } from "../logger.js";
import { clientFrom, UsageError, withClientOptions, type ClientFlags } from "./client-options.js";
import { toJsonText } from "./format.js";

/** Flags of `bridge run` and `bridge replay`. */
interface BridgeFlags {
  readonly endpoint?: string;
  readonly secret?: string;
  readonly stateFile?: string;
  readonly deadLetterFile?: string;
  readonly spendIntervalMs?: string;
  readonly timeoutMs?: string;
  readonly maxAttempts?: string;
  readonly logLevel?: string;
  readonly json?: boolean;
}

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

/** Adds `bridge [run]` and `bridge replay`. */
export function addBridgeCommands(program: Command, run: (server: string, work: () => Promise<void>) => Promise<void>): void {
  const bridge = program.command("bridge").description("deliver alert events and spend updates to the Economic Engine as signed CloudEvents");

  withClientOptions(
    withDeliveryOptions(bridge.command("run", { isDefault: true }).description("follow the alert feed and deliver each event at least once (the default; Ctrl-C stops)"))
      .option("--state-file <path>", `${BRIDGE_SETTINGS.BRIDGE_STATE_FILE.help} (env COST_CORE_BRIDGE_STATE_FILE, default ${BRIDGE_SETTINGS.BRIDGE_STATE_FILE.default})`)
      .option(
        "--spend-interval-ms <ms>",
        `${BRIDGE_SETTINGS.BRIDGE_SPEND_INTERVAL_MS.help} (env COST_CORE_BRIDGE_SPEND_INTERVAL_MS, default ${BRIDGE_SETTINGS.BRIDGE_SPEND_INTERVAL_MS.default})`,
      )
      .option("--log-level <level>", "trace, debug, info, warn, error or silent (env COST_CORE_LOG_LEVEL, default info)"),
  ).action((flags: ClientFlags & BridgeFlags) => run(flags.server, () => bridgeRunCommand(flags)));

  withDeliveryOptions(bridge.command("replay").description("send the dead-letter entries again; delivered ones are removed, the others kept"))
    .option("--json", "print the outcome as JSON")
    .action((flags: BridgeFlags) => run(flags.endpoint ?? "", () => bridgeReplayCommand(flags)));
}

function withDeliveryOptions(command: Command): Command {
  return command
    .option("--endpoint <url>", `${BRIDGE_SETTINGS.BRIDGE_ENDPOINT.help} (env COST_CORE_BRIDGE_ENDPOINT)`)
    .option("--secret <secret>", `${BRIDGE_SETTINGS.BRIDGE_SECRET.help} (env COST_CORE_BRIDGE_SECRET, preferred: flags show in ps)`)
    .option(
      "--dead-letter-file <path>",
      `${BRIDGE_SETTINGS.BRIDGE_DEAD_LETTER_FILE.help} (env COST_CORE_BRIDGE_DEAD_LETTER_FILE, default ${BRIDGE_SETTINGS.BRIDGE_DEAD_LETTER_FILE.default})`,
    )
    .option("--timeout-ms <ms>", `${BRIDGE_SETTINGS.BRIDGE_TIMEOUT_MS.help} (env COST_CORE_BRIDGE_TIMEOUT_MS, default ${BRIDGE_SETTINGS.BRIDGE_TIMEOUT_MS.default})`)
    .option("--max-attempts <n>", `${BRIDGE_SETTINGS.BRIDGE_MAX_ATTEMPTS.help} (env COST_CORE_BRIDGE_MAX_ATTEMPTS, default ${BRIDGE_SETTINGS.BRIDGE_MAX_ATTEMPTS.default})`);
}

/** Flags over env over defaults, validated; a UsageError lists every problem. */
function configFrom(flags: BridgeFlags): BridgeConfig {
  const fromFlags: RawBridgeSettings = {
    BRIDGE_ENDPOINT: flags.endpoint,
    BRIDGE_SECRET: flags.secret,
    BRIDGE_STATE_FILE: flags.stateFile,
    BRIDGE_DEAD_LETTER_FILE: flags.deadLetterFile,
    BRIDGE_SPEND_INTERVAL_MS: flags.spendIntervalMs,
    BRIDGE_TIMEOUT_MS: flags.timeoutMs,
    BRIDGE_MAX_ATTEMPTS: flags.maxAttempts,
  };
  const problems: string[] = [];
  const config = bridgeConfigFrom(mergeBridgeSettings(bridgeSettingsFromEnv(process.env), fromFlags), problems);
  if (problems.length > 0) throw new UsageError(`invalid bridge configuration:\n  - ${problems.join("\n  - ")}`);
  return config;
}

async function bridgeRunCommand(flags: ClientFlags & BridgeFlags): Promise<void> {
  const config = configFrom(flags);
  const level = flags.logLevel ?? process.env.COST_CORE_LOG_LEVEL ?? "info";
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")} (got "${level}")`);
  const logger = createLogger(level).child({ component: "bridge" });
  const { startBridge } = await loadBridge();
  warnIfCleartext(config.endpoint, logger);
  const bridge = startBridge({ ...config, client: clientFrom(flags), logger });
  const stop = (signal: string): void => {
    logger.info({ signal }, "stopping the bridge: the delivery in flight is abandoned, its event is sent again on the next start");
    void bridge.stop();
  };
  const onSigint = (): void => stop("SIGINT");
  const onSigterm = (): void => stop("SIGTERM");
  process.once("SIGINT", onSigint);
  process.once("SIGTERM", onSigterm);
  try {
    await bridge.done;
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigterm);
    logger.flush();
  }
  // Pooled HTTP/2 and keep-alive connections would hold the process open a while longer.
  process.exit();
}

async function bridgeReplayCommand(flags: BridgeFlags): Promise<void> {
  const config = configFrom(flags);
  const { replayDeadLetters } = await import("../bridge/replay.js");
  const result = await replayDeadLetters({
    deadLetterFile: config.deadLetterFile,
    endpoint: config.endpoint,
    secret: config.secret,
    timeoutMs: config.timeoutMs,
    maxAttempts: config.maxAttempts,
  });
  const { delivered, kept, invalidLines, duplicates } = result;
  if (flags.json) {
    process.stdout.write(`${toJsonText({ delivered, kept, invalidLines, duplicates, deadLetterFile: config.deadLetterFile })}\n`);
  } else {
    process.stdout.write(
      `${delivered} delivered, ${kept} kept in ${config.deadLetterFile}` +
        `${duplicates > 0 ? `, ${duplicates} repeated entries dropped` : ""}${invalidLines > 0 ? `, ${invalidLines} unreadable lines kept` : ""}\n`,
    );
  }
  if (kept > 0) process.exitCode = 1;
}

/**
 * Starts the bridge inside `serve`, following this server over loopback. Its
 * failure is logged and leaves the server running.
 */
export async function startEmbeddedBridge(config: BridgeConfig, serverUrl: string, logger: Logger): Promise<RunningBridge> {
  const { startBridge } = await loadBridge();
  const bridgeLogger = logger.child({ component: "bridge" });
  warnIfCleartext(config.endpoint, bridgeLogger);
  const client = createCostClient({ baseUrl: loopbackUrlOf(serverUrl), protocol: "grpc", apiKey: config.apiKey === "" ? undefined : config.apiKey });
  const bridge = startBridge({ ...config, client, logger: bridgeLogger });
  bridge.done.catch((error: unknown) => bridgeLogger.error({ err: error }, "the bridge stopped on an error; the server goes on without it"));
  return bridge;
}

/** A URL of a wildcard address (0.0.0.0, ::) made dialable: the loopback of the same family. */
export function loopbackUrlOf(url: string): string {
  const parsed = new URL(url);
  if (parsed.hostname === "0.0.0.0") parsed.hostname = "127.0.0.1";
  else if (parsed.hostname === "[::]") parsed.hostname = "[::1]";
  return parsed.toString().replace(/\/$/, "");
}

// The bridge (and the CloudEvents SDK it brings, about 12 MiB) is loaded only where a
// bridge runs: every CLI command registers the bridge commands at start.
function loadBridge(): Promise<typeof import("../bridge/bridge.js")> {
  return import("../bridge/bridge.js");
}

function warnIfCleartext(endpoint: string, logger: Logger): void {
  const url = new URL(endpoint);
  if (url.protocol === "http:" && !["localhost", "127.0.0.1", "[::1]"].includes(url.hostname)) {
    logger.warn({ endpoint: redactedUrl(endpoint) }, "the bridge endpoint is cleartext http: events are signed but readable on the network; prefer https");
  }
}
