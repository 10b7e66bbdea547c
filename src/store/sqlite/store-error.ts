import { StoreUnavailableError } from "../../core/errors.js";

// SQLite result codes that mean "the database cannot be used right now" rather
// than a bug in a statement: the caller may retry once the condition clears.
const UNAVAILABLE_PREFIXES = ["SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_PROTOCOL"];

/** Maps a better-sqlite3 error to StoreUnavailableError when it is an I/O condition; other errors pass through. */
export function storeErrorFrom(error: unknown): unknown {
  const code = typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : "";
  if (UNAVAILABLE_PREFIXES.some((prefix) => code.startsWith(prefix))) {
    return new StoreUnavailableError(`sqlite store unavailable (${code})`, { cause: error });
  }
  if (error instanceof TypeError && /database connection is not open/.test(error.message)) {
    return new StoreUnavailableError("sqlite store is closed", { cause: error });
  }
  return error;
}

/** Runs synchronous database work, mapping driver errors with storeErrorFrom. */
export function guarded<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw storeErrorFrom(error);
  }
}
