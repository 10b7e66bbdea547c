import { readFile } from "node:fs/promises";
import { isNotFound, writeFileAtomic } from "./durable-file.js";

/** What the bridge remembers between runs. */
export interface BridgeState {
  /** The feed cursor after the last event the receiver accepted (or dead-lettered). */
  readonly cursor: string;
  /** When it was saved (epoch ms). */
  readonly savedAtMs: number;
}

/** The state file exists but cannot be used; starting over silently could lose or repeat events. */
export class BridgeStateError extends Error {
  constructor(
    readonly path: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`bridge state file ${path} ${detail}; fix it, or delete it to start from the currently active alerts`, options);
    this.name = "BridgeStateError";
  }
}

/** Reads the state file; undefined when there is none yet (the first run). */
export async function loadBridgeState(path: string): Promise<BridgeState | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw new BridgeStateError(path, "cannot be read", { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new BridgeStateError(path, "is not JSON", { cause: error });
  }
  if (typeof parsed !== "object" || parsed === null) throw new BridgeStateError(path, "is not a JSON object");
  const { version, cursor, savedAt } = parsed as Record<string, unknown>;
  if (version !== 1) throw new BridgeStateError(path, `has unknown version ${JSON.stringify(version)}`);
  if (typeof cursor !== "string" || cursor === "") throw new BridgeStateError(path, "has no cursor");
  return { cursor, savedAtMs: typeof savedAt === "string" ? Date.parse(savedAt) || 0 : 0 };
}

/** Saves the state durably (temp file, fsync, rename). */
export async function saveBridgeState(path: string, state: BridgeState): Promise<void> {
  const text = `${JSON.stringify({ version: 1, cursor: state.cursor, savedAt: new Date(state.savedAtMs).toISOString() }, null, 2)}\n`;
  await writeFileAtomic(path, text);
}
