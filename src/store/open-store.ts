import type { StoreConfig } from "../config.js";
import type { CostStore } from "../core/cost-store.js";
import { createMongoCostStore, type MongoCostStore } from "./mongo/mongo-cost-store.js";
import { createSqliteCostStore } from "./sqlite/sqlite-cost-store.js";

/** Opens the store the configuration names. */
export async function openStore(config: StoreConfig): Promise<CostStore> {
  switch (config.kind) {
    case "sqlite":
      return createSqliteCostStore({ path: config.path, synchronous: config.synchronous });
    case "mongodb":
      return createMongoCostStore({ uri: config.uri, database: config.database, writeConcern: config.writeConcern });
  }
}

/** A store shared by several instances, which tells when any of them appends alert feed events. */
export type SharedFeedStore = Pick<MongoCostStore, "watchAlertEventInserts">;

/** The store's shared-feed side, or undefined for a store only this process writes (SQLite). */
export function sharedFeedOf(store: CostStore): SharedFeedStore | undefined {
  const candidate = store as Partial<SharedFeedStore>;
  return typeof candidate.watchAlertEventInserts === "function" ? (candidate as SharedFeedStore) : undefined;
}
