import { acknowledgedAlert, type Alert } from "../domain/alert.js";
import { auditEntry, type AuditEntry, type AuditStamp } from "../domain/audit.js";
import type { Budget } from "../domain/budget.js";
import { alertToStored, budgetToStored } from "./codec.js";

/** The audit entry of a budget set, replaced (`before` given) or deleted (`after` undefined), in the stored JSON form. */
export function budgetAuditEntry(id: string, before: Budget | undefined, after: Budget | undefined, stamp: AuditStamp): AuditEntry {
  return auditEntry({ resourceType: "budget", resourceId: id, before, after, stamp, toJson: budgetToStored });
}

/** An acknowledgment, as both the new state of the alert and its audit entry; every adapter writes both in one transaction. */
export function acknowledgment(alert: Alert, request: { readonly by: string; readonly note: string; readonly atMs: number }): { readonly acknowledged: Alert; readonly audit: AuditEntry } {
  const acknowledged = acknowledgedAlert(alert, request);
  return {
    acknowledged,
    audit: auditEntry({
      resourceType: "alert",
      resourceId: alert.id,
      before: alert,
      after: acknowledged,
      stamp: { actor: request.by, atMs: request.atMs },
      toJson: alertToStored,
      action: "alert.acknowledge",
    }),
  };
}
