import type { StoreConfig } from "../config.js";
import type { CostStore } from "../core/cost-store.js";
import type { AlertEventWatch, AlertEventWatchOptions } from "./mongo/alert-event-watch.js";
import { createSqliteCostStore } from "./sqlite/sqlite-cost-store.js";

/** An open store, and for a store several instances share, a way to hear of feed events any of them appends. */
export interface OpenedStore {
  readonly store: CostStore;
  /** Calls `onAppend` when any instance appends alert feed events; undefined when only this process writes (SQLite). */
  readonly watchSharedFeed?: ((onAppend: () => void, options?: Partial<AlertEventWatchOptions>) => AlertEventWatch) | undefined;
}

/** Opens the store the configuration names. */
export async function openStore(config: StoreConfig): Promise<OpenedStore> {
  switch (config.kind) {
    case "sqlite":
      return { store: createSqliteCostStore({ path: config.path, synchronous: config.synchronous, writerThread: config.writerThread }) };
    case "mongodb": {
      // Loaded only here: the driver adds about 23 MiB to a server that runs on SQLite.
      const { createMongoCostStore } = await import("./mongo/mongo-cost-store.js");
      const store = await createMongoCostStore({ uri: config.uri, database: config.database, writeConcern: config.writeConcern });
      return { store, watchSharedFeed: (onAppend, options) => store.watchAlertEventInserts(onAppend, options) };
    }
  }
}
