import { readFileSync } from "node:fs";
import { BRIDGE_SETTINGS, bridgeConfigFrom, type BridgeConfig } from "./bridge/bridge-config.js";

/** Where records live: the embedded SQLite file (default) or MongoDB. */
export type StoreConfig =
  | { readonly kind: "sqlite"; readonly path: string; readonly synchronous: "FULL" | "NORMAL"; readonly writerThread: boolean }
  | {
      readonly kind: "mongodb";
      readonly uri: string;
      readonly database: string;
      /** "majority" (default) or how many replica set members must acknowledge a write. */
      readonly writeConcern: "majority" | number;
    };

/** The validated configuration of `cost-core serve`. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly store: StoreConfig;
  readonly logLevel: string;
  readonly shutdownGraceMs: number;
  readonly readMaxBytes: number;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  /** API keys file; undefined is development mode (no authentication, loopback only unless insecure). */
  readonly keysFile?: string | undefined;
  /** Allow development mode on a non-loopback interface. */
  readonly insecure: boolean;
  readonly maxStreamsPerKey: number;
  readonly maxWatchers: number;
  /** V8's heap growing factor minus one, in percent; 0 keeps V8's adaptive one. */
  readonly heapGrowthPercent: number;
  /** The Economic Engine bridge run inside serve; undefined unless COST_CORE_BRIDGE_ENDPOINT is set. */
  readonly bridge?: BridgeConfig | undefined;
}

/** Every problem found in the configuration, each naming its setting. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

/** Settings as given: flag values win over the environment. Keys are the env names without the COST_CORE_ prefix. */
export type RawSettings = Partial<Record<SettingName, string | undefined>>;

/** The settings, with their defaults and meaning; the README's configuration table follows this list. */
export const SETTINGS = {
  HOST: { default: "127.0.0.1", help: "interface to listen on" },
  PORT: { default: "8080", help: "TCP port for gRPC, gRPC-Web and Connect" },
  STORE: { default: "sqlite", help: "sqlite or mongodb" },
  SQLITE_PATH: { default: "./data/cost-core.db", help: "SQLite database file" },
  SQLITE_SYNC: { default: "FULL", help: "FULL (survives power loss) or NORMAL (survives a crash, faster)" },
  SQLITE_WRITER_THREAD: { default: "true", help: "write records from a worker thread (true) or on the main thread (false)" },
  MONGODB_URI: { default: "", help: "MongoDB connection string (a replica set)" },
  MONGODB_DATABASE: { default: "cost_core", help: "MongoDB database name" },
  MONGODB_WRITE_CONCERN: { default: "majority", help: "MongoDB write concern: majority, or how many members must acknowledge (1-50)" },
  LOG_LEVEL: { default: "info", help: "trace, debug, info, warn, error or silent" },
  SHUTDOWN_GRACE_MS: { default: "10000", help: "how long shutdown waits for calls in flight" },
  MAX_MESSAGE_BYTES: { default: "4194304", help: "largest request message" },
  TLS_CERT: { default: "", help: "PEM certificate file; enables TLS" },
  TLS_KEY: { default: "", help: "PEM private key file for TLS_CERT" },
  KEYS_FILE: { default: "", help: "API keys file (JSON); without it the server runs in development mode" },
  INSECURE: { default: "false", help: "true allows development mode (no API keys) on a non-loopback interface" },
  MAX_STREAMS_PER_KEY: { default: "64", help: "open streaming calls per API key" },
  MAX_WATCHERS: { default: "2000", help: "open WatchAlerts streams per server" },
  HEAP_GROWTH_PERCENT: { default: "50", help: "how far the JavaScript heap may grow past what was live at the last full collection, in percent; 0 leaves it to V8" },
  ...BRIDGE_SETTINGS,
} as const;

/** A setting's name. */
export type SettingName = keyof typeof SETTINGS;

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

/** Reads COST_CORE_* variables from an environment. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): RawSettings {
  const out: RawSettings = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const value = env[`COST_CORE_${name}`];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Validates settings (flags over env over defaults) into a Config, or throws ConfigError listing every problem. */
export function parseConfig(...layers: RawSettings[]): Config {
  const merged: Record<SettingName, string> = Object.fromEntries(
    (Object.keys(SETTINGS) as SettingName[]).map((name) => [name, SETTINGS[name].default]),
  ) as Record<SettingName, string>;
  for (const layer of layers) {
    for (const [name, value] of Object.entries(layer) as [SettingName, string | undefined][]) {
      if (value !== undefined) merged[name] = value;
    }
  }
  const problems: string[] = [];
  const integer = (name: SettingName, min: number, max: number): number => {
    const value = Number(merged[name]);
    if (!/^\d+$/.test(merged[name]) || value < min || value > max) {
      problems.push(`COST_CORE_${name} must be a whole number from ${min} to ${max} (got "${merged[name]}")`);
    }
    return value;
  };

  const port = integer("PORT", 0, 65_535);
  const shutdownGraceMs = integer("SHUTDOWN_GRACE_MS", 0, 600_000);
  const readMaxBytes = integer("MAX_MESSAGE_BYTES", 1_024, 64 * 1024 * 1024);
  const maxStreamsPerKey = integer("MAX_STREAMS_PER_KEY", 1, 100_000);
  const maxWatchers = integer("MAX_WATCHERS", 1, 1_000_000);
  const heapGrowthPercent = integer("HEAP_GROWTH_PERCENT", 0, 1_000);
  if (merged.HOST.trim() === "") problems.push("COST_CORE_HOST must not be empty");
  if (merged.INSECURE !== "true" && merged.INSECURE !== "false") problems.push(`COST_CORE_INSECURE must be true or false (got "${merged.INSECURE}")`);
  const insecure = merged.INSECURE === "true";
  const keysFile = merged.KEYS_FILE === "" ? undefined : merged.KEYS_FILE;
  if (!keysFile && !insecure && !isLoopback(merged.HOST)) {
    problems.push(
      `COST_CORE_HOST is ${merged.HOST} but no API keys are configured: anyone who can reach it could read and write every cost. ` +
        "Set COST_CORE_KEYS_FILE (create keys with: cost-core keys create), bind to 127.0.0.1, or set COST_CORE_INSECURE=true to accept the risk",
    );
  }
  if (!LOG_LEVELS.includes(merged.LOG_LEVEL)) problems.push(`COST_CORE_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")} (got "${merged.LOG_LEVEL}")`);

  let store: StoreConfig | undefined;
  if (merged.STORE === "sqlite") {
    const sync = merged.SQLITE_SYNC.toUpperCase();
    if (sync !== "FULL" && sync !== "NORMAL") problems.push(`COST_CORE_SQLITE_SYNC must be FULL or NORMAL (got "${merged.SQLITE_SYNC}")`);
    if (merged.SQLITE_PATH.trim() === "") problems.push("COST_CORE_SQLITE_PATH must not be empty");
    const thread = merged.SQLITE_WRITER_THREAD;
    if (thread !== "true" && thread !== "false") problems.push(`COST_CORE_SQLITE_WRITER_THREAD must be true or false (got "${thread}")`);
    store = { kind: "sqlite", path: merged.SQLITE_PATH, synchronous: sync === "NORMAL" ? "NORMAL" : "FULL", writerThread: thread !== "false" };
  } else if (merged.STORE === "mongodb") {
    if (!/^mongodb(\+srv)?:\/\//.test(merged.MONGODB_URI)) problems.push("COST_CORE_MONGODB_URI must be a mongodb:// or mongodb+srv:// URI when COST_CORE_STORE is mongodb");
    if (!/^[A-Za-z0-9_-]{1,63}$/.test(merged.MONGODB_DATABASE)) problems.push(`COST_CORE_MONGODB_DATABASE must be 1-63 of A-Z a-z 0-9 _ - (got "${merged.MONGODB_DATABASE}")`);
    const w = merged.MONGODB_WRITE_CONCERN;
    const members = Number(w);
    if (w !== "majority" && !(/^\d+$/.test(w) && members >= 1 && members <= 50)) {
      problems.push(`COST_CORE_MONGODB_WRITE_CONCERN must be majority or a whole number from 1 to 50 (got "${w}")`);
    }
    store = { kind: "mongodb", uri: merged.MONGODB_URI, database: merged.MONGODB_DATABASE, writeConcern: w === "majority" ? "majority" : members };
  } else {
    problems.push(`COST_CORE_STORE must be sqlite or mongodb (got "${merged.STORE}")`);
  }

  let tls: Config["tls"];
  if (merged.TLS_CERT !== "" || merged.TLS_KEY !== "") {
    if (merged.TLS_CERT === "" || merged.TLS_KEY === "") problems.push("COST_CORE_TLS_CERT and COST_CORE_TLS_KEY must be set together");
    else {
      try {
        tls = { cert: readFileSync(merged.TLS_CERT), key: readFileSync(merged.TLS_KEY) };
      } catch (error) {
        problems.push(`TLS files cannot be read: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  const bridge = merged.BRIDGE_ENDPOINT === "" ? undefined : bridgeConfigFrom(merged, problems);

  if (problems.length > 0 || !store) throw new ConfigError(problems);
  return { host: merged.HOST, port, store, logLevel: merged.LOG_LEVEL, shutdownGraceMs, readMaxBytes, tls, keysFile, insecure, maxStreamsPerKey, maxWatchers, heapGrowthPercent, bridge };
}

/** Whether a host name or address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}
