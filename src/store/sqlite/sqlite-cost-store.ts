import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { Database as Db, Statement } from "better-sqlite3";
import type {
  ClusterTotal,
  CostStore,
  GroupField,
  InsertResult,
  RecordPage,
  RecordPageQuery,
  RecordSumQuery,
  RollupRow,
  RollupSumQuery,
  SumFilter,
  SumRow,
} from "../../core/cost-store.js";
import type { CostRecord, StoredCostRecord } from "../../domain/cost-record.js";
import { NANOS_PER_UNIT } from "../../domain/money.js";
import { rollupDeltas } from "../../domain/rollup.js";
import { idHash } from "./id-hash.js";
import { migrate } from "./migrations.js";
import { createSqliteAlertOps, type SqliteAlertOps } from "./sqlite-alert-store.js";
import { createSqliteAuditOps, type SqliteAuditOps } from "./sqlite-audit-store.js";
import { guarded } from "./store-error.js";

/** How the SQLite store opens its file. */
export interface SqliteStoreOptions {
  /** Database file; ":memory:" for a throw-away store. Its folder is created if missing. */
  readonly path: string;
  /** FULL (default) survives power loss; NORMAL survives a process crash and commits faster. */
  readonly synchronous?: "FULL" | "NORMAL";
  /** Page cache, in MiB (default 64). */
  readonly cacheMb?: number;
  /** WAL pages before SQLite folds the log back into the database (default 10,000, about 40 MiB). */
  readonly walCheckpointPages?: number;
}

interface RecordRow {
  seq: bigint;
  id: string;
  cluster_id: string;
  provider: string;
  operation: string;
  model: string;
  currency: string;
  units: bigint;
  nanos: bigint;
  ts_ms: bigint;
  trace_id: string;
  metadata: string;
  received_ms: bigint;
}

interface SumRowRaw {
  cluster_id?: string;
  provider?: string;
  operation?: string;
  model?: string;
  bucket_start?: bigint;
  currency: string;
  units: bigint;
  nanos: bigint;
  n: bigint;
}

const ROLLUP_TABLES: Readonly<Record<RollupRow["scope"], { table: string; key: readonly string[] }>> = {
  cluster: { table: "cluster_rollups", key: ["level", "cluster_id", "bucket_start", "currency"] },
  detail: { table: "detail_rollups", key: ["level", "cluster_id", "bucket_start", "currency", "provider", "operation", "model"] },
  totals: { table: "cluster_totals", key: ["cluster_id", "currency"] },
};

const GROUP_COLUMNS: Readonly<Record<GroupField, string>> = {
  cluster: "cluster_id",
  provider: "provider",
  operation: "operation",
  model: "model",
};

/** Opens (creating or migrating) a SQLite file as a CostStore. */
export function createSqliteCostStore(options: SqliteStoreOptions): CostStore {
  if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${options.synchronous ?? "FULL"}`);
    db.pragma("busy_timeout = 5000");
    db.pragma(`cache_size = -${(options.cacheMb ?? 64) * 1024}`);
    // Random record ids dirty about one index page per record, so a batch writes
    // hundreds of pages; with SQLite's default of 1,000 pages a checkpoint would run
    // every other commit and copy them all again. 10,000 lets pages rewritten by
    // several batches be copied once: about 1.5 times the ingest rate, measured.
    db.pragma(`wal_autocheckpoint = ${options.walCheckpointPages ?? 10_000}`);
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  const records = new SqliteRecordStore(db);
  const alerts = createSqliteAlertOps(db, guarded);
  return {
    insertRecords: (batch, receivedAtMs) => records.insertRecords(batch, receivedAtMs),
    sumRollups: (query) => records.sumRollups(query),
    sumRecords: (query) => records.sumRecords(query),
    listClusters: (query) => records.listClusters(query),
    clusterTotals: (clusterIds) => records.clusterTotals(clusterIds),
    listRecords: (query) => records.listRecords(query),
    listRollupRows: (query) => records.listRollupRows(query),
    ...alerts,
    ...createSqliteAuditOps(db, guarded),
    close: () => records.close(),
  };
}

/** The record, roll-up and sum operations of the SQLite store. */
class SqliteRecordStore implements Omit<CostStore, keyof SqliteAlertOps | keyof SqliteAuditOps> {
  private readonly statements = new Map<string, Statement>();
  private readonly insertBatch: (records: readonly CostRecord[], receivedAtMs: number) => InsertResult[];

  constructor(private readonly db: Db) {
    const findKey = this.prepare("SELECT seq FROM record_keys WHERE key_hash = ?").pluck();
    const findCollision = this.prepare("SELECT seq FROM record_key_collisions WHERE id = ?").pluck();
    const insertKey = this.prepare("INSERT INTO record_keys (key_hash, seq) VALUES (?, ?)");
    const insertCollision = this.prepare("INSERT INTO record_key_collisions (id, seq) VALUES (?, ?)");
    const recordBySeq = this.prepare("SELECT * FROM records WHERE seq = ?");
    const insertRecord = this.prepare(
      `INSERT INTO records (id, cluster_id, provider, operation, model, currency, units, nanos, ts_ms, trace_id, metadata, received_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const bumpCluster = this.prepare(
      `INSERT INTO cluster_rollups (level, cluster_id, bucket_start, currency, units, nanos, record_count) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET units = units + excluded.units, nanos = nanos + excluded.nanos, record_count = record_count + excluded.record_count`,
    );
    const bumpDetail = this.prepare(
      `INSERT INTO detail_rollups (level, cluster_id, bucket_start, currency, provider, operation, model, units, nanos, record_count)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET units = units + excluded.units, nanos = nanos + excluded.nanos, record_count = record_count + excluded.record_count`,
    );
    const bumpTotal = this.prepare(
      `INSERT INTO cluster_totals (cluster_id, currency, units, nanos, record_count, last_update_ms) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET units = units + excluded.units, nanos = nanos + excluded.nanos,
         record_count = record_count + excluded.record_count, last_update_ms = MAX(last_update_ms, excluded.last_update_ms)`,
    );

    const insertOne = (record: CostRecord, receivedAtMs: number): bigint => {
      const units = record.cost.nanos / NANOS_PER_UNIT;
      const info = insertRecord.run(
        record.id,
        record.clusterId,
        record.provider,
        record.operation,
        record.model,
        record.cost.currency,
        units,
        record.cost.nanos - units * NANOS_PER_UNIT,
        record.timestampMs,
        record.traceId,
        record.metadataJson,
        receivedAtMs,
      );
      return BigInt(info.lastInsertRowid);
    };

    // The stored record an id already names, if any; `seq` is what its hash points at.
    const storedWithId = (id: string, seq: bigint): StoredCostRecord | undefined => {
      const row = recordBySeq.get(seq) as RecordRow | undefined;
      if (row && row.id === id) return recordFromRow(row);
      const collisionSeq = findCollision.get(id) as bigint | undefined;
      return collisionSeq === undefined ? undefined : recordFromRow(recordBySeq.get(collisionSeq) as RecordRow);
    };

    this.insertBatch = db.transaction((records: readonly CostRecord[], receivedAtMs: number): InsertResult[] => {
      const results: InsertResult[] = [];
      const fresh: CostRecord[] = [];
      for (const record of records) {
        const hash = idHash(record.id);
        const hashSeq = findKey.get(hash) as bigint | undefined;
        const existing = hashSeq === undefined ? undefined : storedWithId(record.id, hashSeq);
        if (existing) {
          results.push({ kind: "existing", stored: existing });
          continue;
        }
        const seq = insertOne(record, receivedAtMs);
        if (hashSeq === undefined) insertKey.run(hash, seq);
        else insertCollision.run(record.id, seq);
        fresh.push(record);
        results.push({ kind: "inserted" });
      }
      const deltas = rollupDeltas(fresh);
      for (const d of deltas.cluster) bumpCluster.run(d.level, d.clusterId, d.bucketStartMs, d.currency, d.units, d.nanos, d.count);
      for (const d of deltas.detail) {
        bumpDetail.run(d.level, d.clusterId, d.bucketStartMs, d.currency, d.provider, d.operation, d.model, d.units, d.nanos, d.count);
      }
      for (const d of deltas.totals) bumpTotal.run(d.clusterId, d.currency, d.units, d.nanos, d.count, receivedAtMs);
      return results;
    }).immediate;
  }

  async insertRecords(records: readonly CostRecord[], receivedAtMs: number): Promise<readonly InsertResult[]> {
    return this.guard(() => this.insertBatch(records, receivedAtMs));
  }

  async sumRollups(query: RollupSumQuery): Promise<readonly SumRow[]> {
    const table = query.scope === "cluster" ? "cluster_rollups" : "detail_rollups";
    if (query.scope === "cluster" && query.groupBy.some((g) => g !== "cluster")) {
      throw new Error("cluster roll-ups can only be grouped by cluster");
    }
    const extra = query.perBucket ? ["bucket_start"] : [];
    return this.sum(table, "bucket_start", "SUM(record_count)", query, query.filter, query.groupBy, extra, [query.level]);
  }

  async sumRecords(query: RecordSumQuery): Promise<readonly SumRow[]> {
    return this.sum("records", "ts_ms", "COUNT(*)", query, query.filter, query.groupBy, [], []);
  }

  async listClusters(query: { after?: string | undefined; limit: number; clusterIds?: readonly string[] | undefined }): Promise<readonly string[]> {
    return this.guard(() => {
      const restrict = query.clusterIds !== undefined;
      const sql = `SELECT DISTINCT cluster_id FROM cluster_totals WHERE cluster_id > ?
        ${restrict ? "AND cluster_id IN (SELECT value FROM json_each(?))" : ""} ORDER BY cluster_id LIMIT ?`;
      const params: unknown[] = [query.after ?? ""];
      if (restrict) params.push(JSON.stringify(query.clusterIds));
      params.push(query.limit);
      return this.statement(sql).pluck().all(...params) as string[];
    });
  }

  async clusterTotals(clusterIds: readonly string[]): Promise<readonly ClusterTotal[]> {
    return this.guard(() => {
      const rows = this.statement(
        `SELECT cluster_id, currency, units, nanos, record_count, last_update_ms FROM cluster_totals
         WHERE cluster_id IN (SELECT value FROM json_each(?)) ORDER BY cluster_id, currency`,
      ).all(JSON.stringify(clusterIds)) as { cluster_id: string; currency: string; units: bigint; nanos: bigint; record_count: bigint; last_update_ms: bigint }[];
      return rows.map((r) => ({
        clusterId: r.cluster_id,
        currency: r.currency,
        units: r.units,
        nanos: r.nanos,
        count: Number(r.record_count),
        lastUpdateMs: Number(r.last_update_ms),
      }));
    });
  }

  async listRecords(query: RecordPageQuery): Promise<RecordPage> {
    return this.guard(() => {
      const [afterTs, afterSeq] = parseCursor(query.after);
      const restrict = query.clusterIds !== undefined;
      const sql = `SELECT * FROM records WHERE ts_ms < ? AND (ts_ms, seq) > (?, ?)
        ${restrict ? "AND cluster_id IN (SELECT value FROM json_each(?))" : ""} ORDER BY ts_ms, seq LIMIT ?`;
      const params: unknown[] = [query.toMs, Math.max(afterTs, query.fromMs), afterTs >= query.fromMs ? afterSeq : -1n];
      if (restrict) params.push(JSON.stringify(query.clusterIds));
      params.push(query.limit);
      const rows = this.statement(sql).all(...params) as RecordRow[];
      const last = rows[rows.length - 1];
      return {
        records: rows.map(recordFromRow),
        next: rows.length === query.limit && last ? `${last.ts_ms}:${last.seq}` : undefined,
      };
    });
  }

  async listRollupRows(query: { scope: RollupRow["scope"]; after?: string | undefined; limit: number }): Promise<{ rows: readonly RollupRow[]; next?: string | undefined }> {
    const shape = ROLLUP_TABLES[query.scope];
    return this.guard(() => {
      const keyColumns = shape.key.join(", ");
      const after = query.after === undefined ? undefined : (JSON.parse(query.after) as unknown[]);
      const sql = `SELECT * FROM ${shape.table} ${after ? `WHERE (${keyColumns}) > (${shape.key.map(() => "?").join(", ")})` : ""} ORDER BY ${keyColumns} LIMIT ?`;
      const raw = this.statement(sql).all(...(after ?? []), query.limit) as Record<string, unknown>[];
      const rows = raw.map((r): RollupRow => ({
        scope: query.scope,
        level: (r.level as string | undefined) ?? "",
        clusterId: r.cluster_id as string,
        bucketStartMs: r.bucket_start === undefined ? 0 : Number(r.bucket_start),
        currency: r.currency as string,
        provider: (r.provider as string | undefined) ?? "",
        operation: (r.operation as string | undefined) ?? "",
        model: (r.model as string | undefined) ?? "",
        units: r.units as bigint,
        nanos: r.nanos as bigint,
        count: Number(r.record_count),
      }));
      const last = raw[raw.length - 1];
      const next = raw.length === query.limit && last ? JSON.stringify(shape.key.map((k) => (typeof last[k] === "bigint" ? Number(last[k]) : last[k]))) : undefined;
      return { rows, next };
    });
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.statements.clear();
    // A clean close folds the WAL back into the main file.
    this.db.pragma("wal_checkpoint(TRUNCATE)");
    this.db.close();
  }

  private async sum(
    table: string,
    timeColumn: string,
    countExpr: string,
    range: { fromMs: number; toMs: number },
    filter: SumFilter,
    groupBy: readonly GroupField[],
    extraGroup: readonly string[],
    levelParams: readonly string[],
  ): Promise<readonly SumRow[]> {
    const columns = [...groupBy.map((g) => GROUP_COLUMNS[g]), ...extraGroup, "currency"];
    const where = [`${timeColumn} >= ?`, `${timeColumn} < ?`];
    const params: unknown[] = [range.fromMs, range.toMs];
    if (levelParams.length > 0) {
      where.unshift("level = ?");
      params.unshift(...levelParams);
    }
    if (filter.clusterIds !== undefined) {
      where.push("cluster_id IN (SELECT value FROM json_each(?))");
      params.push(JSON.stringify(filter.clusterIds));
    }
    if (filter.currency !== undefined) {
      where.push("currency = ?");
      params.push(filter.currency);
    }
    const sql = `SELECT ${columns.join(", ")}, SUM(units) AS units, SUM(nanos) AS nanos, ${countExpr} AS n
      FROM ${table} WHERE ${where.join(" AND ")} GROUP BY ${columns.join(", ")}`;
    return this.guard(() =>
        (this.statement(sql).all(...params) as SumRowRaw[]).map((r) => ({
          clusterId: r.cluster_id ?? "",
          provider: r.provider ?? "",
          operation: r.operation ?? "",
          model: r.model ?? "",
          bucketStartMs: r.bucket_start === undefined ? 0 : Number(r.bucket_start),
          currency: r.currency,
          units: r.units,
          nanos: r.nanos,
          count: Number(r.n),
        })),
    );
  }

  /** A cached prepared statement returning 64-bit integers as bigint, so sums stay exact. */
  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private prepare(sql: string): Statement {
    return this.db.prepare(sql).safeIntegers(true);
  }

  private guard<T>(work: () => T): T {
    return guarded(work);
  }
}

function recordFromRow(row: RecordRow): StoredCostRecord {
  return {
    id: row.id,
    clusterId: row.cluster_id,
    provider: row.provider,
    operation: row.operation,
    model: row.model,
    cost: { currency: row.currency, nanos: row.units * NANOS_PER_UNIT + row.nanos },
    timestampMs: Number(row.ts_ms),
    traceId: row.trace_id,
    metadataJson: row.metadata,
    receivedAtMs: Number(row.received_ms),
  };
}

function parseCursor(after: string | undefined): [number, bigint] {
  if (!after) return [Number.MIN_SAFE_INTEGER, -1n];
  const match = /^(-?\d+):(\d+)$/.exec(after);
  if (!match) throw new RangeError("malformed record cursor");
  return [Number(match[1]), BigInt(match[2] ?? "0")];
}
