import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { isScope, type Scope } from "./scopes.js";
import type { Principal } from "./principal.js";

/** An API key as the keys file holds it: the secret only as a hash. */
export interface KeyEntry {
  readonly id: string;
  /** Hex SHA-256 of the secret part. Secrets are 256 random bits, so a fast hash is enough (they are not passwords). */
  readonly secretSha256: string;
  readonly scopes: readonly Scope[];
  /** The clusters the key may touch; absent for all. */
  readonly clusters?: readonly string[];
}

/** Looks up the principal a presented key belongs to. */
export interface KeyRing {
  /** The principal for a presented key, or undefined when it is unknown or wrong. */
  authenticate(presented: string): Principal | undefined;
  readonly size: number;
  /** The entries, for audit and listing (hashes only). */
  readonly entries: readonly KeyEntry[];
}

const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;
const CLUSTER_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Raised when a keys file is malformed; names the entry at fault. */
export class KeysFileError extends Error {}

/** Parses a keys file's JSON text: {"keys": [KeyEntry, ...]}. */
export function parseKeysFile(text: string, source = "keys file"): KeyEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new KeysFileError(`${source} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const keys = typeof parsed === "object" && parsed !== null && "keys" in parsed ? (parsed as { keys: unknown }).keys : undefined;
  if (!Array.isArray(keys)) throw new KeysFileError(`${source} must be a JSON object with a "keys" array`);
  const seen = new Set<string>();
  return keys.map((raw: unknown, i): KeyEntry => {
    const at = `${source}: keys[${i}]`;
    if (typeof raw !== "object" || raw === null) throw new KeysFileError(`${at} must be an object`);
    const entry = raw as Record<string, unknown>;
    if (typeof entry.id !== "string" || !KEY_ID.test(entry.id)) throw new KeysFileError(`${at}.id must be 1-64 of A-Z a-z 0-9 _ -`);
    if (seen.has(entry.id)) throw new KeysFileError(`${at}.id "${entry.id}" appears twice`);
    seen.add(entry.id);
    if (typeof entry.secretSha256 !== "string" || !/^[0-9a-f]{64}$/.test(entry.secretSha256)) {
      throw new KeysFileError(`${at}.secretSha256 must be 64 lower-case hex digits (use: cost-core keys create)`);
    }
    if (!Array.isArray(entry.scopes) || entry.scopes.length === 0 || !entry.scopes.every((s) => typeof s === "string" && isScope(s))) {
      throw new KeysFileError(`${at}.scopes must be a non-empty list of costs:write, costs:read, budgets:read, budgets:write, alerts:read, alerts:ack, admin`);
    }
    let clusters: string[] | undefined;
    if (entry.clusters !== undefined) {
      if (!Array.isArray(entry.clusters) || !entry.clusters.every((c) => typeof c === "string" && CLUSTER_ID.test(c))) {
        throw new KeysFileError(`${at}.clusters must be a list of cluster ids`);
      }
      clusters = entry.clusters as string[];
    }
    return { id: entry.id, secretSha256: entry.secretSha256, scopes: entry.scopes as Scope[], ...(clusters ? { clusters } : {}) };
  });
}

/** Reads and parses a keys file. */
export function loadKeysFile(path: string): KeyEntry[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new KeysFileError(`cannot read keys file ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseKeysFile(text, path);
}

/** A key ring over parsed entries. Presented keys look like "<id>.<secret>". */
export function createKeyRing(entries: readonly KeyEntry[]): KeyRing {
  const byId = new Map(
    entries.map((e) => [
      e.id,
      {
        hash: Buffer.from(e.secretSha256, "hex"),
        principal: { id: e.id, scopes: new Set(e.scopes), clusters: e.clusters ? new Set(e.clusters) : undefined } satisfies Principal,
      },
    ]),
  );
  return {
    size: byId.size,
    entries,
    authenticate(presented) {
      const dot = presented.lastIndexOf(".");
      if (dot <= 0 || presented.length > 256) return undefined;
      const entry = byId.get(presented.slice(0, dot));
      if (!entry) return undefined;
      const hash = createHash("sha256").update(presented.slice(dot + 1)).digest();
      // Constant time, so response timing does not reveal how much of a secret matched.
      return timingSafeEqual(hash, entry.hash) ? entry.principal : undefined;
    },
  };
}

/** A new key: the text to give the client once, and the entry to add to the keys file. */
export function generateKey(id: string, scopes: readonly Scope[], clusters?: readonly string[]): { key: string; entry: KeyEntry } {
  if (!KEY_ID.test(id)) throw new KeysFileError("key id must be 1-64 of A-Z a-z 0-9 _ -");
  const secret = randomBytes(32).toString("base64url");
  const entry: KeyEntry = { id, secretSha256: createHash("sha256").update(secret).digest("hex"), scopes: [...scopes], ...(clusters?.length ? { clusters: [...clusters] } : {}) };
  return { key: `${id}.${secret}`, entry };
}
