import { StoreUnavailableError } from "../../core/errors.js";

// Driver errors are recognised by name, code and label rather than by `instanceof`,
// so this module needs no driver at run time and the tests can use plain objects.

/** Cost Core cannot start on the configured MongoDB; the message says what to fix. */
export class MongoStartupError extends Error {
  constructor(
    message: string,
    readonly reason: "unreachable" | "authentication" | "standalone" | "other",
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "MongoStartupError";
  }
}

/** The hosts of a connection string without its credentials, for messages and logs. */
export function mongoHostsOf(uri: string): string {
  const match = /^mongodb(?:\+srv)?:\/\/(?:[^@/?]*@)?([^/?]*)/.exec(uri);
  return match?.[1] || "(unparsable URI)";
}

interface DriverErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
  readonly codeName?: unknown;
  readonly cause?: unknown;
  readonly errorLabels?: unknown;
  readonly writeErrors?: unknown;
}

/** The error and its causes, outermost first (the driver wraps, e.g. a pool cleared by an auth failure). */
function chain(error: unknown): DriverErrorLike[] {
  const out: DriverErrorLike[] = [];
  let current = error;
  while (typeof current === "object" && current !== null && out.length < 6) {
    out.push(current as DriverErrorLike);
    current = (current as DriverErrorLike).cause;
  }
  return out;
}

function labelsOf(error: DriverErrorLike): readonly string[] {
  return Array.isArray(error.errorLabels) ? (error.errorLabels as unknown[]).map(String) : [];
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** AuthenticationFailed (18), or a missing/invalid credential the driver itself reports. */
function isAuthenticationFailure(error: unknown): boolean {
  return chain(error).some(
    (e) => e.code === 18 || e.codeName === "AuthenticationFailed" || e.name === "MongoMissingCredentialsError" || e.name === "MongoAuthError",
  );
}

// The driver's errors for "no usable connection": nothing answered, the answer
// came too late, or the client is closed.
const CONNECTIVITY_NAMES = new Set([
  "MongoServerSelectionError",
  "MongoNetworkError",
  "MongoNetworkTimeoutError",
  "MongoPoolClearedError",
  "MongoPoolClosedError",
  "MongoWaitQueueTimeoutError",
  "MongoTopologyClosedError",
  "MongoNotConnectedError",
  "MongoClientClosedError",
  "MongoServerClosedError",
  "MongoOperationTimeoutError",
]);

// Server codes that mean "not now" rather than "never": elections, shutdowns,
// time limits, write concern not reached, a write conflict that outlived the retries.
const UNAVAILABLE_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  50, // MaxTimeMSExpired
  64, // WriteConcernFailed
  89, // NetworkTimeout
  91, // ShutdownInProgress
  112, // WriteConflict
  133, // FailedToSatisfyReadPreference
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

// Labels the server or driver put on errors that are safe to retry.
const UNAVAILABLE_LABELS = new Set(["TransientTransactionError", "UnknownTransactionCommitResult", "RetryableWriteError", "SystemOverloadedError"]);

function isConnectivityFailure(error: unknown): boolean {
  return chain(error).some((e) => typeof e.name === "string" && CONNECTIVITY_NAMES.has(e.name));
}

/** Whether an error is a duplicate key (11000), at the top or in a bulk write's errors. */
export function isDuplicateKeyError(error: unknown): boolean {
  return chain(error).some(
    (e) =>
      e.code === 11000 ||
      (Array.isArray(e.writeErrors) && (e.writeErrors as { code?: unknown }[]).some((w) => typeof w === "object" && w !== null && w.code === 11000)),
  );
}

/**
 * What went wrong while connecting, as a message an operator can act on. One
 * place maps every start-up failure; the driver's error rides along as `cause`.
 */
export function mongoStartupErrorFrom(error: unknown, uri: string): MongoStartupError {
  const host = mongoHostsOf(uri);
  if (error instanceof MongoStartupError) return error;
  // Checked first: an authentication failure can arrive wrapped in a network-level error.
  if (isAuthenticationFailure(error)) {
    return new MongoStartupError(
      `authentication to MongoDB at ${host} failed: check the user name, password and authSource in COST_CORE_MONGODB_URI (${messageOf(error)})`,
      "authentication",
      { cause: error },
    );
  }
  if (isConnectivityFailure(error)) {
    return new MongoStartupError(`cannot reach MongoDB at ${host}: ${messageOf(error)}`, "unreachable", { cause: error });
  }
  return new MongoStartupError(`MongoDB at ${host} could not be prepared for Cost Core: ${messageOf(error)}`, "other", { cause: error });
}

/**
 * The start-up error for a server that cannot run transactions and change streams,
 * judged from its `hello` reply; undefined for a replica set member or a mongos.
 */
export function topologyProblemFrom(hello: Readonly<Record<string, unknown>>): MongoStartupError | undefined {
  if (typeof hello.setName === "string" && hello.setName !== "") return undefined;
  // A mongos (sharded cluster) answers "isdbgrid"; its shards are replica sets.
  if (hello.msg === "isdbgrid") return undefined;
  return new MongoStartupError(
    "MongoDB is a standalone server; Cost Core needs a replica set (a single-node one is fine): see docker-compose.yml",
    "standalone",
  );
}

/**
 * Maps an error of a running store: losing the server (network, election,
 * shutdown, timeouts, write concern not reached) becomes StoreUnavailableError, so
 * clients get UNAVAILABLE and retry (ingestion is idempotent, so a retry after an
 * unknown commit result is safe). Other errors pass through unchanged.
 */
export function mongoStoreErrorFrom(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const links = chain(error);
  const unavailable =
    isConnectivityFailure(error) ||
    links.some((e) => typeof e.code === "number" && UNAVAILABLE_CODES.has(e.code)) ||
    links.some((e) => labelsOf(e).some((label) => UNAVAILABLE_LABELS.has(label)));
  if (!unavailable) return error;
  const first = links[0];
  const what = typeof first?.name === "string" ? first.name : "error";
  return new StoreUnavailableError(`mongodb store unavailable (${what})`, { cause: error });
}

/** Runs store work, mapping driver errors with mongoStoreErrorFrom. */
export async function guardedMongo<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw mongoStoreErrorFrom(error);
  }
}
