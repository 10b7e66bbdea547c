import type { Database } from "better-sqlite3";

/** Schema changes in order; a migration is never edited once released, only followed by a new one. */
const MIGRATIONS: readonly { readonly version: number; readonly sql: string }[] = [
  {
    version: 1,
    sql: `
      -- Records are appended in commit order (seq), so inserts never land in the
      -- middle of the table whatever ids clients choose.
      CREATE TABLE records (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        cluster_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        operation TEXT NOT NULL,
        model TEXT NOT NULL,
        currency TEXT NOT NULL,
        units INTEGER NOT NULL,
        nanos INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL,
        trace_id TEXT NOT NULL,
        metadata TEXT NOT NULL,
        received_ms INTEGER NOT NULL
      );
      CREATE INDEX records_cluster_ts ON records (cluster_id, ts_ms);
      CREATE INDEX records_ts ON records (ts_ms);

      -- Idempotency: a 53-bit hash of the id as the integer key. Random ids (UUIDs)
      -- insert at random places in this B-tree; 8-byte keys keep it several times
      -- smaller than an index on the text id, which is what bounds ingest speed.
      -- Two ids sharing a hash are rare; the second one is kept in record_key_collisions.
      CREATE TABLE record_keys (
        key_hash INTEGER PRIMARY KEY,
        seq INTEGER NOT NULL
      );
      CREATE TABLE record_key_collisions (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE cluster_rollups (
        level TEXT NOT NULL,
        cluster_id TEXT NOT NULL,
        bucket_start INTEGER NOT NULL,
        currency TEXT NOT NULL,
        units INTEGER NOT NULL,
        nanos INTEGER NOT NULL,
        record_count INTEGER NOT NULL,
        PRIMARY KEY (level, cluster_id, bucket_start, currency)
      ) WITHOUT ROWID;
      CREATE INDEX cluster_rollups_time ON cluster_rollups (level, bucket_start);

      CREATE TABLE detail_rollups (
        level TEXT NOT NULL,
        cluster_id TEXT NOT NULL,
        bucket_start INTEGER NOT NULL,
        currency TEXT NOT NULL,
        provider TEXT NOT NULL,
        operation TEXT NOT NULL,
        model TEXT NOT NULL,
        units INTEGER NOT NULL,
        nanos INTEGER NOT NULL,
        record_count INTEGER NOT NULL,
        PRIMARY KEY (level, cluster_id, bucket_start, currency, provider, operation, model)
      ) WITHOUT ROWID;
      CREATE INDEX detail_rollups_time ON detail_rollups (level, bucket_start);

      CREATE TABLE cluster_totals (
        cluster_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        units INTEGER NOT NULL,
        nanos INTEGER NOT NULL,
        record_count INTEGER NOT NULL,
        last_update_ms INTEGER NOT NULL,
        PRIMARY KEY (cluster_id, currency)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    sql: `
      CREATE TABLE budgets (
        id TEXT PRIMARY KEY,
        cluster_id TEXT NOT NULL,
        body TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX budgets_cluster ON budgets (cluster_id, id);

      -- alert_key is the "at most one alert per budget, period, kind and threshold" rule.
      CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        alert_key TEXT NOT NULL UNIQUE,
        cluster_id TEXT NOT NULL,
        budget_id TEXT NOT NULL,
        period_start_ms INTEGER NOT NULL,
        triggered_ms INTEGER NOT NULL,
        acknowledged INTEGER NOT NULL,
        body TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX alerts_time ON alerts (triggered_ms, id);
      CREATE INDEX alerts_cluster_time ON alerts (cluster_id, triggered_ms, id);
      CREATE INDEX alerts_budget_period ON alerts (budget_id, period_start_ms);

      -- The feed: AUTOINCREMENT so a cursor is never reused after retention deletes
      -- the newest rows; SQLite's single writer makes seq follow commit order.
      CREATE TABLE alert_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL,
        alert_id TEXT NOT NULL,
        cluster_id TEXT NOT NULL,
        event_ms INTEGER NOT NULL,
        alert TEXT NOT NULL
      );
      CREATE INDEX alert_events_time ON alert_events (event_ms);
    `,
  },
  {
    version: 3,
    sql: `
      CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        resource_type TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        cluster_id TEXT NOT NULL,
        before_json TEXT NOT NULL,
        after_json TEXT NOT NULL
      );
      CREATE INDEX audit_events_resource ON audit_events (resource_type, resource_id, seq);
      CREATE INDEX audit_events_actor ON audit_events (actor, seq);
      CREATE INDEX audit_events_cluster ON audit_events (cluster_id, seq);

      CREATE TABLE settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    sql: `
      -- Timestamps of a batch scatter (clients batch, clocks differ, records arrive
      -- late), so an index on ts_ms took each record to another page. Within a
      -- minute and a cluster, seq only grows: new entries land on the last page of
      -- their (minute, cluster), and a range query reads whole minutes, then filters.
      DROP INDEX records_cluster_ts;
      DROP INDEX records_ts;
      CREATE INDEX records_minute ON records (ts_ms / 60000, cluster_id, seq);

      -- The id index now keeps recent ids in memory and merges them into record_keys
      -- in hash order (see record-key-index.ts); every id stored so far is in the table.
      INSERT INTO settings (name, value)
        SELECT 'record_keys_merged_seq', CAST(COALESCE(MAX(seq), 0) AS TEXT) FROM records;
    `,
  },
];

/** The newest schema version this build knows. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the schema up to date, each migration in its own transaction; refuses a newer schema than it knows. */
export function migrate(db: Database): number {
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)");
  const current = (db.prepare("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations").get() as { v: number }).v;
  if (current > SCHEMA_VERSION) {
    throw new Error(`database schema version ${current} is newer than this build supports (${SCHEMA_VERSION}); upgrade Cost Core`);
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare("INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)").run(migration.version, Date.now());
    }).immediate();
  }
  return SCHEMA_VERSION;
}
