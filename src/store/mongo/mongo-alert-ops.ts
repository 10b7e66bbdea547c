import type { ClientSession } from "mongodb";
import type { AcknowledgeResult, BudgetAlertOps } from "../../core/cost-store.js";
import { alertKey, type Alert, type AlertEvent, type AlertEventType } from "../../domain/alert.js";
import { acknowledgment, budgetAuditEntry } from "../audit-entries.js";
import { alertPageCursor, assertFeedSeqKnown, feedCursorExpired, feedSeqOf } from "../cursors.js";
import type { Budget } from "../../domain/budget.js";
import { alertToStored } from "../codec.js";
import {
  ALERT_EVENT_COUNTER_ID,
  COLLECTIONS,
  alertEventFromDocument,
  alertEventToDocument,
  alertFromDocument,
  alertToDocument,
  budgetFromDocument,
  budgetToDocument,
  numberFromStored,
  type AlertDocument,
  type AlertEventDocument,
  type BudgetDocument,
  type CounterDocument,
} from "./documents.js";
import { appendAuditEntries } from "./mongo-audit-ops.js";
import { findAll, type MongoContext } from "./mongo-context.js";
import {
  alertEventsBeforeFilter,
  alertEventsFind,
  alertKeysFind,
  alertPageFind,
  budgetPageFind,
  budgetsForClustersFind,
  oldestAlertEventFind,
} from "./pipelines.js";

/** The budget, alert and feed operations of the MongoDB store. */
export type MongoAlertOps = BudgetAlertOps;

/** Budget, alert and feed operations over a connected context. */
export function createMongoAlertOps(ctx: MongoContext): MongoAlertOps {
  const budgets = ctx.db.collection<BudgetDocument>(COLLECTIONS.budgets);
  const alerts = ctx.db.collection<AlertDocument>(COLLECTIONS.alerts);
  const events = ctx.db.collection<AlertEventDocument>(COLLECTIONS.alertEvents);
  const counters = ctx.db.collection<CounterDocument>(COLLECTIONS.counters);

  /**
   * Appends a feed event inside the caller's transaction. Its cursor comes from
   * one counter document that every event-appending transaction increments. Two
   * such transactions running at once both write that document, so MongoDB makes
   * the second fail with a WriteConflict and withTransaction re-runs it, after
   * the first has committed: it then reads the first one's number and takes the
   * next. So sequence order is commit order, and a reader never sees event n+1
   * before event n. A counter outside the transaction would not give that: a
   * number handed out before commit can become visible after a larger one, and a
   * watcher resuming from the larger one would skip it. An aborted transaction
   * rolls its increment back too, so no gap is left for a later commit to fill
   * out of order. The cost is that event appends are serialised, which is fine:
   * alert events are rare (a few per budget and period).
   */
  async function appendEvent(session: ClientSession, type: AlertEventType, alert: Alert, eventMs: number): Promise<AlertEvent> {
    const counter = await counters.findOneAndUpdate(
      { _id: ALERT_EVENT_COUNTER_ID },
      { $inc: { seq: 1 } },
      { upsert: true, returnDocument: "after", session },
    );
    if (!counter) throw new Error("the alert event counter was not returned by its upsert");
    const doc = alertEventToDocument(numberFromStored(counter.seq), type, alert, eventMs);
    await events.insertOne(doc, { session });
    return alertEventFromDocument(doc);
  }

  async function lastSeq(): Promise<number> {
    const counter = await counters.findOne({ _id: ALERT_EVENT_COUNTER_ID });
    return counter ? numberFromStored(counter.seq) : 0;
  }

  return {
    putBudget: (budget, stamp) =>
      ctx.transaction(async (session) => {
        const found = await budgets.findOne({ _id: budget.id }, { session });
        const before = found ? budgetFromDocument(found) : undefined;
        const stored: Budget = before ? { ...budget, createdAtMs: before.createdAtMs } : budget;
        await budgets.replaceOne({ _id: stored.id }, budgetToDocument(stored), { upsert: true, session });
        await appendAuditEntries(ctx, session, [budgetAuditEntry(stored.id, before, stored, stamp)]);
        return { stored, before };
      }),

    getBudget: (id) =>
      ctx.guard(async () => {
        const found = await budgets.findOne({ _id: id });
        return found ? budgetFromDocument(found) : undefined;
      }),

    listBudgets: (query) => ctx.guard(async () => (await findAll(budgets, budgetPageFind(query))).map(budgetFromDocument)),

    deleteBudget: (id, stamp) =>
      ctx.transaction(async (session) => {
        const removed = await budgets.findOneAndDelete({ _id: id }, { session });
        if (!removed) return undefined;
        const before = budgetFromDocument(removed);
        await appendAuditEntries(ctx, session, [budgetAuditEntry(id, before, undefined, stamp)]);
        return before;
      }),

    budgetsForClusters: (clusterIds) => ctx.guard(async () => (await findAll(budgets, budgetsForClustersFind(clusterIds))).map(budgetFromDocument)),

    insertAlert: (alert, eventMs) =>
      ctx.transaction(async (session) => {
        // Looked up first because a duplicate key aborts the transaction; a concurrent
        // insert of the same key (another instance) makes this attempt fail and re-run,
        // and the re-run finds that alert here.
        const existing = await alerts.findOne({ alert_key: alertKey(alert) }, { session });
        if (existing) return { created: false, alert: alertFromDocument(existing) };
        await alerts.insertOne(alertToDocument(alert), { session });
        return { created: true, alert, event: await appendEvent(session, "triggered", alert, eventMs) };
      }),

    acknowledgeAlert: (request) =>
      ctx.transaction(async (session): Promise<AcknowledgeResult | undefined> => {
        const found = await alerts.findOne({ _id: request.alertId }, { session });
        if (!found) return undefined;
        const alert = alertFromDocument(found);
        if (alert.acknowledged) return { alert, newly: false };
        const { acknowledged, audit } = acknowledgment(alert, request);
        // The filter on acknowledged:false makes the first acknowledgment the only one.
        const updated = await alerts.updateOne(
          { _id: alert.id, acknowledged: false },
          { $set: { acknowledged: true, alert: alertToStored(acknowledged) } },
          { session },
        );
        if (updated.matchedCount === 0) {
          const now = await alerts.findOne({ _id: alert.id }, { session });
          return { alert: now ? alertFromDocument(now) : alert, newly: false };
        }
        await appendAuditEntries(ctx, session, [audit]);
        return { alert: acknowledged, newly: true, event: await appendEvent(session, "acknowledged", acknowledged, request.atMs) };
      }),

    getAlert: (id) =>
      ctx.guard(async () => {
        const found = await alerts.findOne({ _id: id });
        return found ? alertFromDocument(found) : undefined;
      }),

    listAlerts: (query) =>
      ctx.guard(async () => {
        // One document more than asked tells whether another page exists.
        const found = await findAll(alerts, alertPageFind({ ...query, limit: query.limit + 1 }));
        const page = found.slice(0, query.limit).map(alertFromDocument);
        const last = page[page.length - 1];
        return { alerts: page, next: found.length > query.limit && last ? alertPageCursor(last) : undefined };
      }),

    alertKeysForPeriod: (budgetId, periodStartMs) =>
      ctx.guard(async () => new Set((await findAll(alerts, alertKeysFind(budgetId, periodStartMs))).map((doc) => doc.alert_key))),

    readAlertEvents: ({ after, limit }) =>
      ctx.guard(async () => {
        const afterSeq = feedSeqOf(after);
        // The counter is read first: any event read next is at most a little newer, never older.
        const last = await lastSeq();
        assertFeedSeqKnown(afterSeq, last);
        const docs = await findAll(events, alertEventsFind(afterSeq, limit));
        const [oldest] = await findAll(events, oldestAlertEventFind());
        return {
          expired: feedCursorExpired(afterSeq, oldest ? numberFromStored(oldest._id) : undefined, last),
          events: docs.map(alertEventFromDocument),
        };
      }),

    latestAlertCursor: () =>
      ctx.guard(async () => {
        const seq = await lastSeq();
        // "0" is a real position (before the first event): resuming from it loses nothing.
        return String(seq);
      }),

    pruneAlertEvents: (beforeMs) => ctx.guard(async () => (await events.deleteMany(alertEventsBeforeFilter(beforeMs))).deletedCount),
  };
}
