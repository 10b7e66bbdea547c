import type { InsertResult } from "../../core/cost-store.js";
import type { CostRecord, StoredCostRecord } from "../../domain/cost-record.js";
import { rollupDeltas } from "../../domain/rollup.js";
import { recordFromDocument, recordToDocument, rollupWrites, type RecordDocument, type RollupWrites } from "./documents.js";

/** What one attempt at a batch writes, and what it answers once committed. */
export interface InsertPlan {
  /** One per record of the batch, in order. */
  readonly results: readonly InsertResult[];
  /** The documents of the records whose id is new, first occurrence only. */
  readonly documents: readonly RecordDocument[];
  /** The roll-up upserts of those records. */
  readonly rollups: RollupWrites;
}

/**
 * Classifies a batch against the records already stored under its ids (`stored`,
 * read in the transaction): a stored id is "existing" with the stored record; an
 * id repeated within the batch is kept at its first occurrence and the repeats are
 * "existing", pointing at it; the rest are inserted with the batch's commit
 * instant and consecutive arrival keys from `firstArrival`.
 */
export function planInsert(batch: readonly CostRecord[], stored: readonly RecordDocument[], receivedAtMs: number, firstArrival: number): InsertPlan {
  const known = new Map<string, StoredCostRecord>(stored.map((doc) => [doc._id, recordFromDocument(doc)]));
  const results: InsertResult[] = [];
  const documents: RecordDocument[] = [];
  const fresh: CostRecord[] = [];
  for (const [index, record] of batch.entries()) {
    const existing = known.get(record.id);
    if (existing) {
      results.push({ kind: "existing", stored: existing });
      continue;
    }
    const doc = recordToDocument(record, receivedAtMs, firstArrival + index);
    known.set(record.id, recordFromDocument(doc));
    documents.push(doc);
    fresh.push(record);
    results.push({ kind: "inserted" });
  }
  return { results, documents, rollups: rollupWrites(rollupDeltas(fresh), receivedAtMs) };
}

/** The ids whose stored records planInsert needs: each id of the batch once. */
export function batchIds(batch: readonly CostRecord[]): string[] {
  return [...new Set(batch.map((r) => r.id))];
}
