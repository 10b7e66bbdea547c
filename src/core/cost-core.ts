import { RECORD_LIMITS } from "../domain/limits.js";
import type { Clock } from "../domain/time.js";
import { getBreakdown, type BreakdownEntry, type BreakdownQuery } from "./breakdown.js";
import type { CostStore } from "./cost-store.js";
import { exportRecords, type ExportQuery } from "./export.js";
import type { GroupCommitOptions } from "./group-commit.js";
import { createIngestor, type Ingestor } from "./ingest.js";
import { getSeries, type SeriesPoint, type SeriesQuery } from "./series.js";
import { createSummaryReader, type SummaryReader } from "./summaries.js";
import { verifyStore, type VerifyReport } from "./verify.js";
import type { StoredCostRecord } from "../domain/cost-record.js";
import { DAY_MS } from "../domain/time.js";
import { createAlertEngine, type AlertEngine } from "./alert-engine.js";
import { createAlertFeed, type AlertFeed, type AlertFeedOptions } from "./alert-feed.js";
import { createAlertService, type AlertService } from "./alerts.js";
import { createAuditService, type AuditService } from "./audit.js";
import { createBudgetService, type BudgetService } from "./budgets.js";

/** What the core is built from. */
export interface CostCoreOptions {
  readonly store: CostStore;
  readonly clock: Clock;
  readonly groupCommit?: Partial<GroupCommitOptions>;
  readonly feed?: Partial<AlertFeedOptions>;
  /** How long alert feed events are kept (default 30 days). */
  readonly alertEventRetentionMs?: number;
  /** Reports errors of background work (alert evaluation, retention). */
  readonly onBackgroundError?: (error: unknown, task: string) => void;
}

/** The application: ingestion and reads over one store, with no knowledge of the transport. */
export interface CostCore {
  readonly clock: Clock;
  readonly ingest: Ingestor;
  readonly summaries: SummaryReader;
  readonly budgets: BudgetService;
  readonly alerts: AlertService;
  readonly feed: AlertFeed;
  readonly engine: AlertEngine;
  readonly audit: AuditService;
  /** Recounts roll-ups and expected alerts from the raw records and reports mismatches. */
  verify(maxMismatches?: number): Promise<VerifyReport>;
  /** Drops feed events past retention; also runs hourly on its own. */
  pruneAlertEvents(): Promise<number>;
  breakdown(query: BreakdownQuery): Promise<BreakdownEntry[]>;
  series(query: SeriesQuery): Promise<SeriesPoint[]>;
  exportRecords(query: ExportQuery): AsyncGenerator<readonly StoredCostRecord[]>;
  /** Stops taking new watchers' time: ends every watcher with a resume message. */
  beginShutdown(): void;
  /** Writes what is pending and finishes alert evaluation, then closes the store. */
  close(): Promise<void>;
}

/** Wires the core over a store. */
export function createCostCore(options: CostCoreOptions): CostCore {
  const { store, clock, groupCommit } = options;
  const onError = options.onBackgroundError ?? (() => {});
  const ingest = createIngestor({ store, clock, groupCommit: { maxWritesInFlight: store.insertsInFlight ?? 1, ...groupCommit } });
  const summaries = createSummaryReader({ store, clock, maxFutureSkewMs: RECORD_LIMITS.maxFutureSkewMs });
  const feed = createAlertFeed(store, clock, options.feed);
  const engine = createAlertEngine({ store, clock, onAlertCreated: () => feed.notify(), onError: (error) => onError(error, "alert evaluation") });
  ingest.onCommitted((batch) => engine.onCommitted(batch));
  const budgets = createBudgetService({ store, clock, engine });
  const alerts = createAlertService({ store, clock, feed });
  const retentionMs = options.alertEventRetentionMs ?? 30 * DAY_MS;
  const pruneAlertEvents = (): Promise<number> => store.pruneAlertEvents(clock.now() - retentionMs);
  // Raise what a previous process may have committed spend for but died before raising.
  engine.evaluateAll();
  const pruning = setInterval(() => pruneAlertEvents().catch((error: unknown) => onError(error, "alert event retention")), 3_600_000);
  pruning.unref();
  return {
    clock,
    ingest,
    summaries,
    budgets,
    alerts,
    feed,
    engine,
    audit: createAuditService({ store, clock }),
    pruneAlertEvents,
    verify: (maxMismatches) => verifyStore(store, clock, maxMismatches),
    beginShutdown: () => feed.close("server shutting down"),
    breakdown: (query) => getBreakdown(store, query),
    series: (query) => getSeries(store, query),
    exportRecords: (query) => exportRecords(store, query),
    async close() {
      clearInterval(pruning);
      feed.close("server shutting down");
      await ingest.drain();
      await engine.idle();
      await store.close();
    },
  };
}
