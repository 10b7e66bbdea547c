import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { Database as Db } from "better-sqlite3";
import { migrate } from "./migrations.js";
import type { RecordKeyIndexOptions } from "./record-key-index.js";

/** How the SQLite store opens its file. */
export interface SqliteStoreOptions {
  /** Database file; ":memory:" for a throw-away store. Its folder is created if missing. */
  readonly path: string;
  /** FULL (default) survives power loss; NORMAL survives a process crash and commits faster. */
  readonly synchronous?: "FULL" | "NORMAL";
  /**
   * Page cache of the writing connection, in MiB (default 16). The id filter spares
   * most reads of the id index, so writes touch few pages: 16 and 64 MiB ingested at
   * the same rate, and every MiB here is resident memory.
   */
  readonly cacheMb?: number;
  /** WAL pages before SQLite folds the log back into the database (default 10,000, about 40 MiB). */
  readonly walCheckpointPages?: number;
  /** Sizes of the in-memory level of the id index (tests make them small to exercise merges). */
  readonly keyIndex?: RecordKeyIndexOptions;
  /**
   * Write records from a worker thread with its own connection (default: true for
   * a file). The event loop then keeps decoding requests while SQLite commits.
   */
  readonly writerThread?: boolean;
}

/** Opens a connection with the store's settings; `migrate` brings the schema up to date first. */
export function openDatabase(options: SqliteStoreOptions, { migrateSchema }: { migrateSchema: boolean }): Db {
  if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${options.synchronous ?? "FULL"}`);
    db.pragma("busy_timeout = 5000");
    db.pragma(`cache_size = -${(options.cacheMb ?? 16) * 1024}`);
    // A checkpoint copies every page written since the last one back into the
    // database file. With SQLite's default of 1,000 pages it ran every few commits;
    // 10,000 lets a page rewritten by many commits be copied once (measured: about
    // 1.5 times the ingest rate).
    db.pragma(`wal_autocheckpoint = ${options.walCheckpointPages ?? 10_000}`);
    if (migrateSchema) migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
