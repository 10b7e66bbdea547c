import type { Alert } from "../domain/alert.js";
import type { AlertFeed } from "./alert-feed.js";
import type { AlertQuery, CostStore } from "./cost-store.js";
import { NotFoundError } from "./errors.js";
import type { Clock } from "../domain/time.js";

/** Listing and acknowledging alerts. */
export interface AlertService {
  list(query: AlertQuery): Promise<{ readonly alerts: readonly Alert[]; readonly next?: string | undefined }>;
  /** Acknowledges once, recording who and when; a repeat returns the alert unchanged with newly false. */
  acknowledge(request: { readonly alertId: string; readonly by: string; readonly note: string }): Promise<{ readonly alert: Alert; readonly newly: boolean }>;
  get(id: string): Promise<Alert>;
}

/** Creates the alert service; new acknowledgments wake the feed. */
export function createAlertService(deps: { store: CostStore; clock: Clock; feed: AlertFeed }): AlertService {
  const { store, clock, feed } = deps;
  return {
    list: (query) => store.listAlerts(query),
    async acknowledge({ alertId, by, note }) {
      const result = await store.acknowledgeAlert({ alertId, by, note, atMs: clock.now() });
      if (!result) throw new NotFoundError("alert", alertId);
      if (result.newly) feed.notify();
      return { alert: result.alert, newly: result.newly };
    },
    async get(id) {
      const alert = await store.getAlert(id);
      if (!alert) throw new NotFoundError("alert", id);
      return alert;
    },
  };
}
