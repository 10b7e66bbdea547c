import { AlertEventType, AlertKind, type AlertEvent, type CostAlert } from "../../../gen/dreamnet/cost/v1/alert_pb.js";
import { msOf } from "./time-text.js";

/** What a change did to the list of active alerts. */
export type AlertChange = "added" | "updated" | "removed" | "unchanged";

/**
 * The active alerts the page shows, kept from a ListAlerts answer and the
 * WatchAlerts stream. Both can tell the same thing (the stream's snapshot repeats
 * the list, a replay repeats events), so every change is keyed by alert id and
 * applying one twice changes nothing.
 */
export interface ActiveAlerts {
  /**
   * Replaces the list with a ListAlerts answer asked for at `askedAtMs` (the
   * page's clock), keeping what the stream said meanwhile: an alert raised after
   * the question stays, an acknowledged one stays gone.
   */
  replaceFromList(alerts: readonly CostAlert[], askedAtMs: number): void;
  /** An active alert from the stream's snapshot. */
  applyActive(alert: CostAlert, atMs: number): AlertChange;
  /** An event from the stream. */
  applyEvent(event: AlertEvent, atMs: number): AlertChange;
  /** An acknowledgment this page made. */
  applyAcknowledged(alert: CostAlert, atMs: number): AlertChange;
  /** Newest first, as ListAlerts orders them; alerts raised together, the most severe first. */
  list(): CostAlert[];
  /** Whether the alert arrived through the stream after the page loaded. */
  isLive(alertId: string): boolean;
}

/** An empty list of active alerts. */
export function createActiveAlerts(): ActiveAlerts {
  let active = new Map<string, CostAlert>();
  // What the stream said, by alert id, with when the page heard it.
  const raisedAt = new Map<string, number>();
  const acknowledgedAt = new Map<string, number>();
  const live = new Set<string>();

  function add(alert: CostAlert, atMs: number, fromStream: boolean): AlertChange {
    if (alert.acknowledged || acknowledgedAt.has(alert.id)) return remove(alert.id, atMs);
    const known = active.has(alert.id);
    active.set(alert.id, alert);
    if (!known) raisedAt.set(alert.id, atMs);
    if (!known && fromStream) live.add(alert.id);
    return known ? "updated" : "added";
  }

  function remove(alertId: string, atMs: number): AlertChange {
    if (!acknowledgedAt.has(alertId)) acknowledgedAt.set(alertId, atMs);
    live.delete(alertId);
    return active.delete(alertId) ? "removed" : "unchanged";
  }

  return {
    replaceFromList(alerts, askedAtMs) {
      const next = new Map<string, CostAlert>();
      for (const alert of alerts) {
        // An acknowledgment is final, so one heard of at any time wins over the list.
        if (!alert.acknowledged && !acknowledgedAt.has(alert.id)) next.set(alert.id, alert);
      }
      for (const [id, alert] of active) {
        if (!next.has(id) && (raisedAt.get(id) ?? 0) >= askedAtMs) next.set(id, alert);
      }
      active = next;
    },
    applyActive: (alert, atMs) => add(alert, atMs, false),
    applyEvent(event, atMs) {
      if (!event.alert) return "unchanged";
      switch (event.type) {
        case AlertEventType.TRIGGERED:
          return add(event.alert, atMs, true);
        case AlertEventType.ACKNOWLEDGED:
          return remove(event.alert.id, atMs);
        default:
          return "unchanged";
      }
    },
    applyAcknowledged: (alert, atMs) => remove(alert.id, atMs),
    list() {
      return [...active.values()].sort((a, b) => (msOf(b.triggerTime) ?? 0) - (msOf(a.triggerTime) ?? 0) || severity(b) - severity(a) || (a.id < b.id ? -1 : 1));
    },
    isLive: (alertId) => live.has(alertId),
  };
}

/** Exceeded before forecast before thresholds, higher thresholds first. */
function severity(alert: CostAlert): number {
  const kindRank = alert.kind === AlertKind.EXCEEDED ? 3 : alert.kind === AlertKind.FORECAST ? 2 : 1;
  return kindRank * 1_000 + alert.thresholdPercent;
}
