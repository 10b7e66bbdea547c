import type { Database, Statement } from "better-sqlite3";
import type { AcknowledgeResult, AlertQuery, BudgetAlertOps } from "../../core/cost-store.js";
import { alertPageCursor, assertFeedSeqKnown, feedCursorExpired, feedSeqOf, parseAlertPageCursor } from "../cursors.js";
import { alertKey, type Alert, type AlertEvent, type AlertEventType } from "../../domain/alert.js";
import type { AuditStamp } from "../../domain/audit.js";
import { acknowledgment, budgetAuditEntry } from "../audit-entries.js";
import type { Budget } from "../../domain/budget.js";
import { alertFromStored, alertToStored, budgetFromStored, budgetToStored, type StoredAlert, type StoredBudget } from "../codec.js";
import { createAuditAppender } from "./sqlite-audit-store.js";

/** The budget, alert and feed operations of the SQLite store. */
export type SqliteAlertOps = BudgetAlertOps;

interface EventRow {
  seq: number;
  type: string;
  event_ms: number;
  alert: string;
}

/** Budget, alert and feed operations over an open database; `guard` maps driver errors. */
export function createSqliteAlertOps(db: Database, guard: <T>(work: () => T) => T): SqliteAlertOps {
  const cache = new Map<string, Statement>();
  const sql = (text: string): Statement => {
    let statement = cache.get(text);
    if (!statement) {
      statement = db.prepare(text);
      cache.set(text, statement);
    }
    return statement;
  };
  const budgetBody = (id: string): Budget | undefined => {
    const body = sql("SELECT body FROM budgets WHERE id = ?").pluck().get(id) as string | undefined;
    return body === undefined ? undefined : budgetFromStored(JSON.parse(body) as StoredBudget);
  };
  const alertById = (id: string): Alert | undefined => {
    const body = sql("SELECT body FROM alerts WHERE id = ?").pluck().get(id) as string | undefined;
    return body === undefined ? undefined : alertFromStored(JSON.parse(body) as StoredAlert);
  };
  const appendEvent = (type: AlertEventType, alert: Alert, eventMs: number): AlertEvent => {
    const info = sql("INSERT INTO alert_events (type, alert_id, cluster_id, event_ms, alert) VALUES (?, ?, ?, ?, ?)").run(
      type,
      alert.id,
      alert.clusterId,
      eventMs,
      JSON.stringify(alertToStored(alert)),
    );
    return { cursor: String(info.lastInsertRowid), type, alert, eventMs };
  };
  const audit = createAuditAppender(db);
  const maxSeqEver = (): number =>
    (sql("SELECT seq FROM sqlite_sequence WHERE name = 'alert_events'").pluck().get() as number | undefined) ?? 0;

  const putBudget = db.transaction((budget: Budget, stamp: AuditStamp) => {
    const before = budgetBody(budget.id);
    const stored: Budget = before ? { ...budget, createdAtMs: before.createdAtMs } : budget;
    sql("INSERT INTO budgets (id, cluster_id, body) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET cluster_id = excluded.cluster_id, body = excluded.body").run(
      stored.id,
      stored.clusterId,
      JSON.stringify(budgetToStored(stored)),
    );
    audit(budgetAuditEntry(stored.id, before, stored, stamp));
    return { stored, before };
  });
  const deleteBudget = db.transaction((id: string, stamp: AuditStamp) => {
    const before = budgetBody(id);
    if (!before) return undefined;
    sql("DELETE FROM budgets WHERE id = ?").run(id);
    audit(budgetAuditEntry(id, before, undefined, stamp));
    return before;
  });
  const insertAlert = db.transaction((alert: Alert, eventMs: number) => {
    const key = alertKey(alert);
    const info = sql(
      `INSERT INTO alerts (id, alert_key, cluster_id, budget_id, period_start_ms, triggered_ms, acknowledged, body)
       VALUES (?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT (alert_key) DO NOTHING`,
    ).run(alert.id, key, alert.clusterId, alert.budgetId, alert.periodStartMs, alert.triggeredAtMs, JSON.stringify(alertToStored(alert)));
    if (info.changes === 0) {
      const existingId = sql("SELECT id FROM alerts WHERE alert_key = ?").pluck().get(key) as string;
      return { created: false, alert: alertById(existingId) as Alert };
    }
    return { created: true, alert, event: appendEvent("triggered", alert, eventMs) };
  });
  const acknowledge = db.transaction((request: { alertId: string; by: string; note: string; atMs: number }): AcknowledgeResult | undefined => {
    const alert = alertById(request.alertId);
    if (!alert) return undefined;
    if (alert.acknowledged) return { alert, newly: false };
    const { acknowledged, audit: entry } = acknowledgment(alert, request);
    sql("UPDATE alerts SET acknowledged = 1, body = ? WHERE id = ?").run(JSON.stringify(alertToStored(acknowledged)), alert.id);
    audit(entry);
    return { alert: acknowledged, newly: true, event: appendEvent("acknowledged", acknowledged, request.atMs) };
  });

  return {
    putBudget: async (budget, stamp) => guard(() => putBudget.immediate(budget, stamp)),
    getBudget: async (id) => guard(() => budgetBody(id)),
    listBudgets: async ({ clusterIds, after, limit }) =>
      guard(() => {
        const restrict = clusterIds !== undefined;
        const rows = sql(
          `SELECT body FROM budgets WHERE id > ? ${restrict ? "AND cluster_id IN (SELECT value FROM json_each(?))" : ""} ORDER BY id LIMIT ?`,
        )
          .pluck()
          .all(...(restrict ? [after ?? "", JSON.stringify(clusterIds), limit] : [after ?? "", limit])) as string[];
        return rows.map((body) => budgetFromStored(JSON.parse(body) as StoredBudget));
      }),
    deleteBudget: async (id, stamp) => guard(() => deleteBudget.immediate(id, stamp)),
    budgetsForClusters: async (clusterIds) =>
      guard(() =>
        (sql("SELECT body FROM budgets WHERE cluster_id IN (SELECT value FROM json_each(?)) ORDER BY id").pluck().all(JSON.stringify(clusterIds)) as string[]).map(
          (body) => budgetFromStored(JSON.parse(body) as StoredBudget),
        ),
      ),

    insertAlert: async (alert, eventMs) => guard(() => insertAlert.immediate(alert, eventMs)),
    acknowledgeAlert: async (request) => guard(() => acknowledge.immediate(request)),
    getAlert: async (id) => guard(() => alertById(id)),
    listAlerts: async (query: AlertQuery) =>
      guard(() => {
        const where: string[] = [];
        const params: unknown[] = [];
        if (query.clusterIds !== undefined) {
          where.push("cluster_id IN (SELECT value FROM json_each(?))");
          params.push(JSON.stringify(query.clusterIds));
        }
        if (query.state !== "all") where.push(`acknowledged = ${query.state === "acknowledged" ? 1 : 0}`);
        if (query.fromMs !== undefined) {
          where.push("triggered_ms >= ?");
          params.push(query.fromMs);
        }
        if (query.toMs !== undefined) {
          where.push("triggered_ms < ?");
          params.push(query.toMs);
        }
        if (query.after !== undefined) {
          const at = parseAlertPageCursor(query.after);
          where.push("(triggered_ms, id) < (?, ?)");
          params.push(at.triggeredAtMs, at.id);
        }
        // One row more than asked tells whether another page exists.
        params.push(query.limit + 1);
        const rows = sql(
          `SELECT body FROM alerts ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY triggered_ms DESC, id DESC LIMIT ?`,
        )
          .pluck()
          .all(...params) as string[];
        const alerts = rows.slice(0, query.limit).map((body) => alertFromStored(JSON.parse(body) as StoredAlert));
        const last = alerts[alerts.length - 1];
        return { alerts, next: rows.length > query.limit && last ? alertPageCursor(last) : undefined };
      }),
    alertKeysForPeriod: async (budgetId, periodStartMs) =>
      guard(
        () =>
          new Set(
            sql("SELECT alert_key FROM alerts WHERE budget_id = ? AND period_start_ms = ?").pluck().all(budgetId, periodStartMs) as string[],
          ),
      ),

    readAlertEvents: async ({ after, limit }) =>
      guard(() => {
        const afterSeq = feedSeqOf(after);
        const lastSeq = maxSeqEver();
        assertFeedSeqKnown(afterSeq, lastSeq);
        const rows = sql("SELECT seq, type, event_ms, alert FROM alert_events WHERE seq > ? ORDER BY seq LIMIT ?").all(afterSeq, limit) as EventRow[];
        const oldest = (sql("SELECT MIN(seq) FROM alert_events").pluck().get() as number | null) ?? undefined;
        return {
          expired: feedCursorExpired(afterSeq, oldest, lastSeq),
          events: rows.map((row) => ({
            cursor: String(row.seq),
            type: row.type as AlertEventType,
            eventMs: row.event_ms,
            alert: alertFromStored(JSON.parse(row.alert) as StoredAlert),
          })),
        };
      }),
    latestAlertCursor: async () =>
      guard(() => {
        const seq = maxSeqEver();
        // "0" is a real position (before the first event): resuming from it loses nothing.
        return String(seq);
      }),
    pruneAlertEvents: async (beforeMs) => guard(() => sql("DELETE FROM alert_events WHERE event_ms < ?").run(beforeMs).changes),
  };
}
