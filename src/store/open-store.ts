import type { StoreConfig } from "../config.js";
import type { CostStore } from "../core/cost-store.js";
import { createSqliteCostStore } from "./sqlite/sqlite-cost-store.js";

/** Opens the store the configuration names. */
export async function openStore(config: StoreConfig): Promise<CostStore> {
  switch (config.kind) {
    case "sqlite":
      return createSqliteCostStore({ path: config.path, synchronous: config.synchronous });
    case "mongodb":
      throw new Error("the MongoDB store is not available in this build yet; use COST_CORE_STORE=sqlite");
  }
}
