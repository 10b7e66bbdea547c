import type { Database, Statement } from "better-sqlite3";
import type { InsertResult } from "../../core/cost-store.js";
import type { CostRecord, StoredCostRecord } from "../../domain/cost-record.js";
import { NANOS_PER_UNIT } from "../../domain/money.js";
import { rollupDeltas, type RollupDeltas } from "../../domain/rollup.js";
import { RecordKeyIndex, type RecordKeyIndexOptions } from "./record-key-index.js";
import { recordFromRow, type RecordRow } from "./record-row.js";

/** The result of every new record: one object for all of them. */
export const INSERTED: InsertResult = Object.freeze({ kind: "inserted" });

/**
 * Writes a batch. `hashes` are the ids' idHash, in order (see idHashes): the caller
 * computes them, so the writer thread, the bottleneck, does not. `deltasIfAllNew`,
 * when given, is rollupDeltas(records), used when no record of the batch is stored
 * already (the usual case), for the same reason; otherwise the writer computes the
 * deltas of the new records itself.
 */
export type RecordWriter = (records: readonly CostRecord[], receivedAtMs: number, hashes: Float64Array, deltasIfAllNew?: RollupDeltas) => InsertResult[];

/**
 * The write path of the SQLite store: one transaction per batch that tells new
 * ids from stored ones, appends the new records and adds them to the roll-ups.
 * Returns one result per record, in order.
 */
export function createRecordWriter(db: Database, keyIndexOptions?: RecordKeyIndexOptions): RecordWriter {
  const keys = new RecordKeyIndex(db, keyIndexOptions);
  const prepare = (sql: string): Statement => db.prepare(sql).safeIntegers(true);
  const findCollision = prepare("SELECT seq FROM record_key_collisions WHERE id = ?").pluck();
  const insertCollision = prepare("INSERT INTO record_key_collisions (id, seq) VALUES (?, ?)");
  const recordBySeq = prepare("SELECT * FROM records WHERE seq = ?");
  // One row per statement: tried 16 and 64 rows per INSERT, and both were slower here.
  const insertRecord = prepare(
    `INSERT INTO records (id, cluster_id, provider, operation, model, currency, units, nanos, ts_ms, trace_id, metadata, received_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const bumpCluster = prepare(
    `INSERT INTO cluster_rollups (level, cluster_id, bucket_start, currency, units, nanos, record_count) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT DO UPDATE SET units = units + excluded.units, nanos = nanos + excluded.nanos, record_count = record_count + excluded.record_count`,
  );
  const bumpDetail = prepare(
    `INSERT INTO detail_rollups (level, cluster_id, bucket_start, currency, provider, operation, model, units, nanos, record_count)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT DO UPDATE SET units = units + excluded.units, nanos = nanos + excluded.nanos, record_count = record_count + excluded.record_count`,
  );
  const bumpTotal = prepare(
    `INSERT INTO cluster_totals (cluster_id, currency, units, nanos, record_count, last_update_ms) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT DO UPDATE SET units = units + excluded.units, nanos = nanos + excluded.nanos,
       record_count = record_count + excluded.record_count, last_update_ms = MAX(last_update_ms, excluded.last_update_ms)`,
  );

  // The stored record an id already names, if any; `seq` is what its hash points at.
  const storedWithId = (id: string, seq: number | bigint): StoredCostRecord | undefined => {
    const row = recordBySeq.get(seq) as RecordRow | undefined;
    if (row && row.id === id) return recordFromRow(row);
    const collisionSeq = findCollision.get(id) as bigint | undefined;
    return collisionSeq === undefined ? undefined : recordFromRow(recordBySeq.get(collisionSeq) as RecordRow);
  };

  const transaction = db.transaction((records: readonly CostRecord[], receivedAtMs: number, hashes: Float64Array, deltasIfAllNew: RollupDeltas | undefined): InsertResult[] => {
    keys.beginWrite();
    const results: InsertResult[] = [];
    const fresh: CostRecord[] = [];
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as CostRecord;
      const hash = hashes[i] as number;
      const hashSeq = keys.find(hash);
      const existing = hashSeq === undefined ? undefined : storedWithId(record.id, hashSeq);
      if (existing) {
        results.push({ kind: "existing", stored: existing });
        continue;
      }
      // Most records cost less than one unit: no bigint division for them.
      const units = record.cost.nanos < NANOS_PER_UNIT ? 0n : record.cost.nanos / NANOS_PER_UNIT;
      const { lastInsertRowid } = insertRecord.run(
        record.id,
        record.clusterId,
        record.provider,
        record.operation,
        record.model,
        record.cost.currency,
        units,
        units === 0n ? record.cost.nanos : record.cost.nanos - units * NANOS_PER_UNIT,
        record.timestampMs,
        record.traceId,
        record.metadataJson,
        receivedAtMs,
      );
      const seq = Number(lastInsertRowid);
      if (hashSeq === undefined) keys.add(hash, seq);
      else {
        // Another id has this hash: the key keeps pointing at it, this one is found by id.
        insertCollision.run(record.id, seq);
        keys.add(undefined, seq);
      }
      fresh.push(record);
      results.push(INSERTED);
    }
    const deltas = deltasIfAllNew && fresh.length === records.length ? deltasIfAllNew : rollupDeltas(fresh);
    for (const d of deltas.cluster) bumpCluster.run(d.level, d.clusterId, d.bucketStartMs, d.currency, d.units, d.nanos, d.count);
    for (const d of deltas.detail) {
      bumpDetail.run(d.level, d.clusterId, d.bucketStartMs, d.currency, d.provider, d.operation, d.model, d.units, d.nanos, d.count);
    }
    for (const d of deltas.totals) bumpTotal.run(d.clusterId, d.currency, d.units, d.nanos, d.count, receivedAtMs);
    return results;
  });

  return (records, receivedAtMs, hashes, deltasIfAllNew) => {
    let results: InsertResult[];
    try {
      results = transaction.immediate(records, receivedAtMs, hashes, deltasIfAllNew);
    } catch (error) {
      keys.rolledBack();
      throw error;
    }
    keys.committed();
    try {
      keys.mergeStep();
    } catch {
      // The batch is committed whatever happens here. An unmerged level stays in
      // memory, where lookups find it, and the next commit retries the step.
    }
    return results;
  };
}
