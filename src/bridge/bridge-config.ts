/** The bridge's settings (env COST_CORE_<name>), their defaults and meaning. */
export const BRIDGE_SETTINGS = {
  BRIDGE_ENDPOINT: { default: "", help: "Economic Engine URL the bridge POSTs CloudEvents to; in serve, setting it starts the bridge" },
  BRIDGE_SECRET: { default: "", help: "shared secret signing each bridge request (HMAC-SHA256), at least 16 characters" },
  BRIDGE_API_KEY: { default: "", help: "API key the bridge inside serve calls the server with (scopes alerts:read, costs:read)" },
  BRIDGE_STATE_FILE: { default: "./data/bridge-state.json", help: "file keeping the bridge's feed cursor" },
  BRIDGE_DEAD_LETTER_FILE: { default: "./data/bridge-dead-letter.jsonl", help: "JSON Lines file of events the receiver refused" },
  BRIDGE_SPEND_INTERVAL_MS: { default: "60000", help: "time between spend updates; 0 sends none" },
  BRIDGE_TIMEOUT_MS: { default: "10000", help: "time allowed for one delivery attempt" },
  BRIDGE_MAX_ATTEMPTS: { default: "5", help: "attempts before a refused event (4xx) goes to the dead-letter file" },
} as const;

/** A bridge setting's name. */
export type BridgeSettingName = keyof typeof BRIDGE_SETTINGS;

/** Bridge settings as given (flags over env); undefined falls through to the next layer. */
export type RawBridgeSettings = Partial<Record<BridgeSettingName, string | undefined>>;

/** The validated bridge configuration. */
export interface BridgeConfig {
  readonly endpoint: string;
  readonly secret: string;
  /** Empty: no key (a server in development mode). */
  readonly apiKey: string;
  readonly stateFile: string;
  readonly deadLetterFile: string;
  readonly spendIntervalMs: number;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
}

/** Shortest secret accepted: a guessable secret makes signatures worthless. */
export const MIN_SECRET_LENGTH = 16;

/** Reads COST_CORE_BRIDGE_* variables from an environment. */
export function bridgeSettingsFromEnv(env: NodeJS.ProcessEnv): RawBridgeSettings {
  const out: RawBridgeSettings = {};
  for (const name of Object.keys(BRIDGE_SETTINGS) as BridgeSettingName[]) {
    const value = env[`COST_CORE_${name}`];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Merges layers (later wins) over the defaults. */
export function mergeBridgeSettings(...layers: RawBridgeSettings[]): Record<BridgeSettingName, string> {
  const merged = Object.fromEntries((Object.keys(BRIDGE_SETTINGS) as BridgeSettingName[]).map((name) => [name, BRIDGE_SETTINGS[name].default])) as Record<
    BridgeSettingName,
    string
  >;
  for (const layer of layers) {
    for (const [name, value] of Object.entries(layer) as [BridgeSettingName, string | undefined][]) {
      if (value !== undefined) merged[name] = value;
    }
  }
  return merged;
}

/** Validates merged settings into a BridgeConfig, adding one message per problem (each naming its variable) to `problems`. */
export function bridgeConfigFrom(values: Readonly<Record<BridgeSettingName, string>>, problems: string[]): BridgeConfig {
  const integer = (name: BridgeSettingName, min: number, max: number): number => {
    const text = values[name];
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) problems.push(`COST_CORE_${name} must be a whole number from ${min} to ${max} (got "${text}")`);
    return value;
  };
  const endpoint = values.BRIDGE_ENDPOINT.trim();
  if (endpoint === "") problems.push("COST_CORE_BRIDGE_ENDPOINT is required: the URL the bridge POSTs events to");
  else if (!isHttpUrl(endpoint)) problems.push(`COST_CORE_BRIDGE_ENDPOINT must be an http:// or https:// URL (got "${endpoint}")`);
  if (values.BRIDGE_SECRET.length < MIN_SECRET_LENGTH) {
    problems.push(
      `COST_CORE_BRIDGE_SECRET must be at least ${MIN_SECRET_LENGTH} characters${values.BRIDGE_SECRET === "" ? " (it is not set)" : ""}: receivers check each request's signature with it. Generate one with: openssl rand -hex 32`,
    );
  }
  if (values.BRIDGE_STATE_FILE.trim() === "") problems.push("COST_CORE_BRIDGE_STATE_FILE must not be empty");
  if (values.BRIDGE_DEAD_LETTER_FILE.trim() === "") problems.push("COST_CORE_BRIDGE_DEAD_LETTER_FILE must not be empty");
  return {
    endpoint,
    secret: values.BRIDGE_SECRET,
    apiKey: values.BRIDGE_API_KEY,
    stateFile: values.BRIDGE_STATE_FILE,
    deadLetterFile: values.BRIDGE_DEAD_LETTER_FILE,
    spendIntervalMs: integer("BRIDGE_SPEND_INTERVAL_MS", 0, 86_400_000),
    timeoutMs: integer("BRIDGE_TIMEOUT_MS", 1, 600_000),
    maxAttempts: integer("BRIDGE_MAX_ATTEMPTS", 1, 100),
  };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}
