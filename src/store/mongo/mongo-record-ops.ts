import type { ClientSession, Collection, Document } from "mongodb";
import type { CostStore, InsertResult } from "../../core/cost-store.js";
import type { CostRecord } from "../../domain/cost-record.js";
import {
  COLLECTIONS,
  clusterTotalFromDocument,
  recordFromDocument,
  type ClusterTotalDocument,
  type RecordDocument,
  type RollupIncrement,
} from "./documents.js";
import { createArrivalSequence } from "./arrival-order.js";
import { batchIds, planInsert } from "./insert-plan.js";
import { findAll, type MongoContext } from "./mongo-context.js";
import {
  clusterListPipeline,
  clusterTotalsFind,
  recordCursorOf,
  recordPageFind,
  recordSumPipeline,
  rollupCollectionOf,
  rollupRowFromDocument,
  rollupRowsCollectionOf,
  rollupRowsFind,
  rollupSumPipeline,
  sumRowFromGroup,
} from "./pipelines.js";

/** The record, roll-up and sum operations of the MongoDB store. */
export type MongoRecordOps = Pick<CostStore, "insertRecords" | "sumRollups" | "sumRecords" | "listClusters" | "clusterTotals" | "listRollupRows" | "listRecords">;

/** Record operations over a connected context. */
export function createMongoRecordOps(ctx: MongoContext): MongoRecordOps {
  const records = ctx.db.collection<RecordDocument>(COLLECTIONS.records);
  const totals = ctx.db.collection<ClusterTotalDocument>(COLLECTIONS.clusterTotals);
  const collection = (name: string): Collection<Document> => ctx.db.collection(name);
  const arrivals = createArrivalSequence();

  /**
   * One attempt at a batch, inside a transaction. A duplicate key inside a
   * transaction aborts the whole transaction in MongoDB, so instead of inserting
   * and collecting 11000 errors, the ids already stored are looked up first (in
   * the transaction's snapshot) and only new records are inserted. If another
   * instance inserts one of those ids concurrently, our insert fails with a
   * WriteConflict (a TransientTransactionError, which withTransaction retries) or
   * a duplicate key (which runTransaction retries, a bounded number of times);
   * either way the batch runs again from a snapshot that sees the other insert,
   * and that record is then classified "existing". Nothing is ever counted twice:
   * the roll-up increments belong to the same transaction as the inserts.
   */
  async function insertBatch(batch: readonly CostRecord[], receivedAtMs: number, firstArrival: number, session: ClientSession): Promise<readonly InsertResult[]> {
    const stored = await records.find({ _id: { $in: batchIds(batch) } }, { session }).toArray();
    const plan = planInsert(batch, stored, receivedAtMs, firstArrival);
    if (plan.documents.length === 0) return plan.results;
    await records.insertMany([...plan.documents], { session, ordered: true });
    // Operations of one transaction run one after another (the driver does not support parallel ones).
    await upsertAll(collection(COLLECTIONS.clusterRollups), plan.rollups.cluster, session);
    await upsertAll(collection(COLLECTIONS.detailRollups), plan.rollups.detail, session);
    await upsertAll(collection(COLLECTIONS.clusterTotals), plan.rollups.totals, session);
    return plan.results;
  }

  return {
    insertRecords: async (batch, receivedAtMs) => {
      if (batch.length === 0) return [];
      // Taken once, outside the transaction: a re-run keeps the batch's place in arrival order.
      const firstArrival = arrivals.take(receivedAtMs, batch.length);
      return ctx.transaction((session) => insertBatch(batch, receivedAtMs, firstArrival, session));
    },

    sumRollups: (query) =>
      ctx.guard(async () => {
        const pipeline = rollupSumPipeline(query);
        return (await collection(rollupCollectionOf(query.scope)).aggregate(pipeline).toArray()).map(sumRowFromGroup);
      }),

    sumRecords: (query) =>
      ctx.guard(async () => (await collection(COLLECTIONS.records).aggregate(recordSumPipeline(query)).toArray()).map(sumRowFromGroup)),

    listClusters: (query) =>
      ctx.guard(async () => (await collection(COLLECTIONS.clusterTotals).aggregate(clusterListPipeline(query)).toArray()).map((doc) => String(doc._id))),

    clusterTotals: (clusterIds) => ctx.guard(async () => (await findAll(totals, clusterTotalsFind(clusterIds))).map(clusterTotalFromDocument)),

    listRollupRows: (query) =>
      ctx.guard(async () => {
        const docs = await findAll(collection(rollupRowsCollectionOf(query.scope)), rollupRowsFind(query));
        const last = docs[docs.length - 1];
        return { rows: docs.map((doc) => rollupRowFromDocument(query.scope, doc)), next: docs.length === query.limit && last ? String(last._id) : undefined };
      }),

    listRecords: (query) =>
      ctx.guard(async () => {
        const docs = await findAll(records, recordPageFind(query));
        const last = docs[docs.length - 1];
        return { records: docs.map(recordFromDocument), next: docs.length === query.limit && last ? recordCursorOf(last) : undefined };
      }),
  };
}

/** One bulkWrite of `$inc` upserts: one update per roll-up document, however many records share it. */
async function upsertAll<K extends Document>(target: Collection<Document>, increments: readonly RollupIncrement<K>[], session: ClientSession): Promise<void> {
  if (increments.length === 0) return;
  await target.bulkWrite(
    increments.map((w) => ({ updateOne: { filter: w.filter as Document, update: w.update as Document, upsert: true } })),
    { session, ordered: true },
  );
}
