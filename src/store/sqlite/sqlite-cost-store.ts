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
import type { CostRecord } from "../../domain/cost-record.js";
import { idHashes } from "./id-hash.js";
import { openDatabase, type SqliteStoreOptions } from "./open-database.js";
import { recordFromRow, type RecordRow } from "./record-row.js";
import { createRecordWriter, type RecordWriter } from "./record-writer.js";
import { createSqliteAlertOps, type SqliteAlertOps } from "./sqlite-alert-store.js";
import { createSqliteAuditOps, type SqliteAuditOps } from "./sqlite-audit-store.js";
import { guarded } from "./store-error.js";
import { startWriterThread, type WriterThread } from "./writer-thread.js";

export type { SqliteStoreOptions } from "./open-database.js";

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

// The key of the records_minute index, written exactly as in its CREATE INDEX:
// SQLite only uses an index on an expression for that same expression.
const MINUTE_OF_RECORD = "ts_ms / 60000";
// Integer division truncates and is monotone, so a record with a timestamp in
// [first, last] has its minute in [first / 60000, last / 60000]: a superset test
// that lets the index narrow the scan; the exact ts_ms test follows it.
const MINUTES_BETWEEN = `${MINUTE_OF_RECORD} BETWEEN CAST(? AS INTEGER) / 60000 AND CAST(? AS INTEGER) / 60000`;

const GROUP_COLUMNS: Readonly<Record<GroupField, string>> = {
  cluster: "cluster_id",
  provider: "provider",
  operation: "operation",
  model: "model",
};

const READER_CACHE_MB = 16;

/** Opens (creating or migrating) a SQLite file as a CostStore. */
export function createSqliteCostStore(options: SqliteStoreOptions): CostStore {
  // With a writer thread, this connection only reads (roll-ups, pages of records) and
  // writes alerts, budgets and audit entries: a small page cache does; the writer's is the large one.
  const threaded = options.path !== ":memory:" && (options.writerThread ?? true);
  const db = openDatabase(threaded ? { ...options, cacheMb: READER_CACHE_MB } : options, { migrateSchema: true });
  const records = new SqliteRecordStore(db, { ...options, writerThread: threaded });
  const alerts = createSqliteAlertOps(db, guarded);
  return {
    insertRecords: (batch, receivedAtMs) => records.insertRecords(batch, receivedAtMs),
    // With a writer thread, the next batch travels to it while the previous one commits.
    insertsInFlight: records.threaded ? 2 : 1,
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
  private readonly insertInThread: RecordWriter | undefined;
  private readonly writer: WriterThread | undefined;

  constructor(
    private readonly db: Db,
    options: SqliteStoreOptions,
  ) {
    // An in-memory database belongs to its one connection, so it is written in-thread.
    if (options.writerThread) this.writer = startWriterThread(options);
    else this.insertInThread = createRecordWriter(db, options.keyIndex);
  }

  get threaded(): boolean {
    return this.writer !== undefined;
  }

  async insertRecords(records: readonly CostRecord[], receivedAtMs: number): Promise<readonly InsertResult[]> {
    if (this.writer) return this.writer.insert(records, receivedAtMs);
    const insert = this.insertInThread as NonNullable<typeof this.insertInThread>;
    return this.guard(() => insert(records, receivedAtMs, idHashes(records)));
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
      const startTs = Math.max(afterTs, query.fromMs);
      // Ordered by minute first (a monotone function of ts_ms, so the order is the
      // same) to walk records_minute and sort only within each minute.
      const sql = `SELECT * FROM records WHERE ${MINUTES_BETWEEN} AND ts_ms < ? AND (ts_ms, seq) > (?, ?)
        ${restrict ? "AND cluster_id IN (SELECT value FROM json_each(?))" : ""} ORDER BY ${MINUTE_OF_RECORD}, ts_ms, seq LIMIT ?`;
      const params: unknown[] = [startTs, query.toMs - 1, query.toMs, startTs, afterTs >= query.fromMs ? afterSeq : -1n];
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
    await this.writer?.close();
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
    if (table === "records") {
      where.unshift(MINUTES_BETWEEN);
      params.unshift(range.fromMs, range.toMs - 1);
    }
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

function parseCursor(after: string | undefined): [number, bigint] {
  if (!after) return [Number.MIN_SAFE_INTEGER, -1n];
  const match = /^(-?\d+):(\d+)$/.exec(after);
  if (!match) throw new RangeError("malformed record cursor");
  return [Number(match[1]), BigInt(match[2] ?? "0")];
}
