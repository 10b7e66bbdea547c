import type { CostRecord, StoredCostRecord } from "../domain/cost-record.js";
import { sameRecordContent } from "../domain/cost-record.js";
import type { Clock } from "../domain/time.js";
import type { CostStore } from "./cost-store.js";
import { createGroupCommitter, type GroupCommitOptions } from "./group-commit.js";

/** What became of a record sent for recording. */
export type RecordOutcome =
  | { readonly kind: "accepted" }
  /** Stored before with the same content: a retry, counted once. */
  | { readonly kind: "duplicate" }
  /** Stored before with different content: refused, the stored record stays. */
  | { readonly kind: "conflict"; readonly stored: StoredCostRecord };

// Shared: one outcome object per record would be garbage at ingest rates.
const ACCEPTED: RecordOutcome = Object.freeze({ kind: "accepted" });
const DUPLICATE: RecordOutcome = Object.freeze({ kind: "duplicate" });

/** A committed write, for whoever reacts to spend (budgets) or measures ingestion (metrics). */
export interface CommittedBatch {
  /** The records that were new; empty when the write held only duplicates. */
  readonly records: readonly CostRecord[];
  /** Every record of the write: new ones, duplicates and conflicts. */
  readonly submittedRecords: readonly CostRecord[];
  readonly committedAtMs: number;
  /** How long the store took to commit, in ms. */
  readonly writeMs: number;
}

/** The ingest pipeline: validated domain records in, committed outcomes out. */
export interface Ingestor {
  /** Records a batch; resolves once committed, with one outcome per record in order. */
  record(records: readonly CostRecord[]): Promise<readonly RecordOutcome[]>;
  /** Calls `listener` after every commit. */
  onCommitted(listener: (batch: CommittedBatch) => void): void;
  /** Records queued or being written. */
  readonly pendingRecords: number;
  /** True while the queue is past half its limit (past it, records are refused): streams should wait for their commits. */
  readonly crowded: boolean;
  /** Resolves once everything submitted so far is written. */
  drain(): Promise<void>;
}

/** Dependencies and tuning of the ingest pipeline. */
export interface IngestOptions {
  readonly store: CostStore;
  readonly clock: Clock;
  readonly groupCommit?: Partial<GroupCommitOptions>;
}

/** Creates the ingest pipeline over a store, coalescing concurrent calls into shared transactions. */
export function createIngestor({ store, clock, groupCommit }: IngestOptions): Ingestor {
  const listeners: ((batch: CommittedBatch) => void)[] = [];

  const committer = createGroupCommitter<CostRecord, RecordOutcome>(async (records) => {
    const committedAtMs = clock.now();
    const started = performance.now();
    const results = await store.insertRecords(records, committedAtMs);
    const writeMs = performance.now() - started;
    const fresh: CostRecord[] = [];
    const outcomes = results.map((result, i): RecordOutcome => {
      const record = records[i] as CostRecord;
      if (result.kind === "inserted") {
        fresh.push(record);
        return ACCEPTED;
      }
      return sameRecordContent(record, result.stored) ? DUPLICATE : { kind: "conflict", stored: result.stored };
    });
    const batch: CommittedBatch = { records: fresh, submittedRecords: records, committedAtMs, writeMs };
    for (const listener of listeners) listener(batch);
    return outcomes;
  }, groupCommit);

  return {
    record: (records) => committer.submit(records),
    onCommitted: (listener) => void listeners.push(listener),
    get crowded() {
      return committer.crowded;
    },
    get pendingRecords() {
      return committer.pendingItems;
    },
    drain: () => committer.drain(),
  };
}
