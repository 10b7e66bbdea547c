import type { Database } from "better-sqlite3";
import type { CostStore } from "../../core/cost-store.js";
import { parseSeqPageCursor } from "../cursors.js";
import type { AuditEntry, AuditResource } from "../../domain/audit.js";

/** The audit and settings operations of the SQLite store. */
export type SqliteAuditOps = Pick<CostStore, "appendAudit" | "listAuditEvents" | "swapSetting">;

interface AuditRow {
  seq: number;
  at_ms: number;
  actor: string;
  action: string;
  resource_type: string;
  resource_id: string;
  cluster_id: string;
  before_json: string;
  after_json: string;
}

/** Appends one audit entry; call it inside the transaction of the change it records. */
export function createAuditAppender(db: Database): (entry: AuditEntry) => void {
  const insert = db.prepare(
    `INSERT INTO audit_events (at_ms, actor, action, resource_type, resource_id, cluster_id, before_json, after_json)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  return (e) => void insert.run(e.atMs, e.actor, e.action, e.resourceType, e.resourceId, e.clusterId, e.beforeJson, e.afterJson);
}

/** Audit log reads and writes, and the settings table, over an open database. */
export function createSqliteAuditOps(db: Database, guard: <T>(work: () => T) => T): SqliteAuditOps {
  const append = createAuditAppender(db);
  const appendAll = db.transaction((entries: readonly AuditEntry[]) => entries.forEach(append));
  const swap = db.transaction((name: string, value: string) => {
    const before = db.prepare("SELECT value FROM settings WHERE name = ?").pluck().get(name) as string | undefined;
    db.prepare("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value").run(name, value);
    return before;
  });
  return {
    appendAudit: async (entries) => guard(() => appendAll.immediate(entries)),
    swapSetting: async (name, value) => guard(() => swap.immediate(name, value)),
    listAuditEvents: async (query) =>
      guard(() => {
        const where: string[] = [];
        const params: unknown[] = [];
        const eq = (column: string, value: string | undefined): void => {
          if (value === undefined) return;
          where.push(`${column} = ?`);
          params.push(value);
        };
        eq("actor", query.actor);
        eq("resource_type", query.resourceType);
        eq("resource_id", query.resourceId);
        if (query.clusterIds !== undefined) {
          where.push("cluster_id IN (SELECT value FROM json_each(?))");
          params.push(JSON.stringify(query.clusterIds));
        }
        if (query.fromMs !== undefined) {
          where.push("at_ms >= ?");
          params.push(query.fromMs);
        }
        if (query.toMs !== undefined) {
          where.push("at_ms < ?");
          params.push(query.toMs);
        }
        if (query.after !== undefined) {
          where.push("seq < ?");
          params.push(parseSeqPageCursor(query.after));
        }
        // One row more than asked tells whether another page exists.
        params.push(query.limit + 1);
        const rows = db
          .prepare(`SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`)
          .all(...params) as AuditRow[];
        const events = rows.slice(0, query.limit).map((r) => ({
          id: String(r.seq),
          atMs: r.at_ms,
          actor: r.actor,
          action: r.action,
          resourceType: r.resource_type as AuditResource,
          resourceId: r.resource_id,
          clusterId: r.cluster_id,
          beforeJson: r.before_json,
          afterJson: r.after_json,
        }));
        const last = events[events.length - 1];
        return { events, next: rows.length > query.limit && last ? last.id : undefined };
      }),
  };
}
