import { RECORD_LIMITS } from "../domain/limits.js";
import type { Clock } from "../domain/time.js";
import { getBreakdown, type BreakdownEntry, type BreakdownQuery } from "./breakdown.js";
import type { CostStore } from "./cost-store.js";
import { exportRecords, type ExportQuery } from "./export.js";
import type { GroupCommitOptions } from "./group-commit.js";
import { createIngestor, type Ingestor } from "./ingest.js";
import { getSeries, type SeriesPoint, type SeriesQuery } from "./series.js";
import { createSummaryReader, type SummaryReader } from "./summaries.js";
import type { StoredCostRecord } from "../domain/cost-record.js";

/** What the core is built from. */
export interface CostCoreOptions {
  readonly store: CostStore;
  readonly clock: Clock;
  readonly groupCommit?: Partial<GroupCommitOptions>;
}

/** The application: ingestion and reads over one store, with no knowledge of the transport. */
export interface CostCore {
  readonly clock: Clock;
  readonly ingest: Ingestor;
  readonly summaries: SummaryReader;
  breakdown(query: BreakdownQuery): Promise<BreakdownEntry[]>;
  series(query: SeriesQuery): Promise<SeriesPoint[]>;
  exportRecords(query: ExportQuery): AsyncGenerator<readonly StoredCostRecord[]>;
  /** Writes what is pending, then closes the store. */
  close(): Promise<void>;
}

/** Wires the core over a store. */
export function createCostCore({ store, clock, groupCommit }: CostCoreOptions): CostCore {
  const ingest = createIngestor({ store, clock, groupCommit });
  const summaries = createSummaryReader({ store, clock, maxFutureSkewMs: RECORD_LIMITS.maxFutureSkewMs });
  return {
    clock,
    ingest,
    summaries,
    breakdown: (query) => getBreakdown(store, query),
    series: (query) => getSeries(store, query),
    exportRecords: (query) => exportRecords(store, query),
    async close() {
      await ingest.drain();
      await store.close();
    },
  };
}
