import type { ClientSession } from "mongodb";
import type { CostStore } from "../../core/cost-store.js";
import type { AuditEntry } from "../../domain/audit.js";
import {
  AUDIT_EVENT_COUNTER_ID,
  COLLECTIONS,
  auditEventFromDocument,
  auditEventToDocument,
  numberFromStored,
  type AuditEventDocument,
  type CounterDocument,
  type SettingDocument,
} from "./documents.js";
import { findAll, type MongoContext } from "./mongo-context.js";
import { auditPageFind } from "./pipelines.js";

/** The audit log and settings operations of the MongoDB store. */
export type MongoAuditOps = Pick<CostStore, "appendAudit" | "listAuditEvents" | "swapSetting">;

/**
 * Appends audit entries inside the caller's transaction, numbered by one counter
 * document: as with the alert feed, concurrent appenders conflict on it and the
 * later one re-runs after the earlier commits, so ids follow commit order.
 */
export async function appendAuditEntries(ctx: MongoContext, session: ClientSession, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const counter = await ctx.db
    .collection<CounterDocument>(COLLECTIONS.counters)
    .findOneAndUpdate({ _id: AUDIT_EVENT_COUNTER_ID }, { $inc: { seq: entries.length } }, { upsert: true, returnDocument: "after", session });
  if (!counter) throw new Error("the audit counter was not returned by its upsert");
  const first = numberFromStored(counter.seq) - entries.length + 1;
  await ctx.db
    .collection<AuditEventDocument>(COLLECTIONS.auditEvents)
    .insertMany(entries.map((entry, i) => auditEventToDocument(first + i, entry)), { session, ordered: true });
}

/** Audit and settings operations over a connected context. */
export function createMongoAuditOps(ctx: MongoContext): MongoAuditOps {
  const events = ctx.db.collection<AuditEventDocument>(COLLECTIONS.auditEvents);
  const settings = ctx.db.collection<SettingDocument>(COLLECTIONS.settings);
  return {
    appendAudit: (entries) => (entries.length === 0 ? Promise.resolve() : ctx.transaction((session) => appendAuditEntries(ctx, session, entries))),

    listAuditEvents: (query) =>
      ctx.guard(async () => {
        // One document more than asked tells whether another page exists.
        const found = await findAll(events, auditPageFind({ ...query, limit: query.limit + 1 }));
        const page = found.slice(0, query.limit).map(auditEventFromDocument);
        const last = page[page.length - 1];
        return { events: page, next: found.length > query.limit && last ? last.id : undefined };
      }),

    swapSetting: (name, value) =>
      ctx.guard(async () => {
        const before = await settings.findOneAndUpdate({ _id: name }, { $set: { value } }, { upsert: true, returnDocument: "before" });
        return before?.value;
      }),
  };
}
