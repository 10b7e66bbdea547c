import { MongoClient, type Db, type ReadConcernLevel, type TransactionOptions } from "mongodb";
import type { CostStore } from "../../core/cost-store.js";
import { watchAlertEventInserts, type AlertEventWatch, type AlertEventWatchOptions } from "./alert-event-watch.js";
import { COLLECTIONS } from "./documents.js";
import { INDEXES } from "./indexes.js";
import { createMongoAlertOps } from "./mongo-alert-ops.js";
import { createMongoAuditOps } from "./mongo-audit-ops.js";
import { createMongoContext } from "./mongo-context.js";
import { mongoStartupErrorFrom, topologyProblemFrom } from "./mongo-errors.js";
import { createMongoRecordOps } from "./mongo-record-ops.js";

/** How the MongoDB store connects. */
export interface MongoStoreOptions {
  /** A mongodb:// or mongodb+srv:// connection string to a replica set (or a mongos). */
  readonly uri: string;
  /** Database name. */
  readonly database: string;
  /** Write concern of every write: "majority" (default, survives a failover) or a number of members. */
  readonly writeConcern?: "majority" | number;
  /** How long start-up and each operation wait for a usable server (default 5,000 ms). */
  readonly serverSelectionTimeoutMs?: number;
}

/** The MongoDB store: a CostStore whose alert feed is shared by every instance using the database. */
export interface MongoCostStore extends CostStore {
  /** Calls `onInsert` whenever any instance appends a feed event (a change stream); see watchAlertEventInserts. */
  watchAlertEventInserts(onInsert: () => void, options?: Partial<AlertEventWatchOptions>): AlertEventWatch;
}

/**
 * Connects, checks that the server can run transactions and change streams (a
 * replica set or a mongos), creates the collections and indexes (idempotent), and
 * returns the store. Failures are MongoStartupError with a message naming the fix.
 */
export async function createMongoCostStore(options: MongoStoreOptions): Promise<MongoCostStore> {
  const w = options.writeConcern ?? "majority";
  // With majority writes, majority reads never show what a failover could roll back
  // and still see our own commits; with fewer acknowledgments, local reads keep
  // read-your-writes.
  const readLevel: ReadConcernLevel = w === "majority" ? "majority" : "local";
  const client = new MongoClient(options.uri, {
    appName: "cost-core",
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 5_000,
    readConcern: { level: readLevel },
    writeConcern: { w },
    readPreference: "primary",
    retryWrites: true,
    retryReads: true,
  });
  let db: Db;
  try {
    await client.connect();
    db = client.db(options.database);
    const problem = topologyProblemFrom(await db.admin().command({ hello: 1 }));
    if (problem) throw problem;
    await prepareCollections(db);
  } catch (error) {
    await client.close().catch(() => {});
    throw mongoStartupErrorFrom(error, options.uri);
  }

  const transactionOptions: TransactionOptions = {
    readConcern: { level: readLevel },
    writeConcern: { w },
    readPreference: "primary",
  };
  let closed = false;
  const ctx = createMongoContext(client, db, transactionOptions, () => closed);
  const records = createMongoRecordOps(ctx);
  const alerts = createMongoAlertOps(ctx);
  const audit = createMongoAuditOps(ctx);
  return {
    ...records,
    ...alerts,
    ...audit,
    watchAlertEventInserts: (onInsert, watchOptions) => watchAlertEventInserts(db, onInsert, watchOptions),
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}

/** Creates missing collections (transactions should not have to) and every index; safe to run again. */
async function prepareCollections(db: Db): Promise<void> {
  const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  for (const name of Object.values(COLLECTIONS)) {
    if (!existing.has(name)) {
      try {
        await db.createCollection(name);
      } catch (error) {
        // NamespaceExists: another instance created it between our list and create.
        if ((error as { code?: unknown }).code !== 48) throw error;
      }
    }
    const indexes = INDEXES[name];
    if (indexes.length > 0) await db.collection(name).createIndexes([...indexes]);
  }
}
