import type { CostClient } from "../client/index.js";
import type { Logger } from "../logger.js";
import type { SendEvent } from "./alert-follower.js";
import { cloudEventsFromSummary } from "./cloud-events.js";
import type { Sleep } from "./delivery.js";

/** What the spend publisher needs. */
export interface SpendPublisherDeps {
  readonly client: CostClient;
  readonly send: SendEvent;
  readonly logger: Logger;
  /** Time between rounds; a round that takes longer (receiver down) delays the next, rounds never pile up. */
  readonly intervalMs: number;
  /** Waits between rounds (real timers in production). */
  readonly sleep: Sleep;
  readonly now: () => number;
}

/**
 * Sends every cluster's spend (one event per cluster and currency, from
 * ListCostSummaries) at start and then every interval, until `signal` aborts.
 * Spend updates are snapshots: one that is never delivered is replaced by the next.
 */
export async function publishSpend(deps: SpendPublisherDeps, signal: AbortSignal): Promise<void> {
  const { client, send, logger, intervalMs, sleep, now } = deps;
  while (!signal.aborted) {
    try {
      let sent = 0;
      let pageToken = "";
      do {
        const page = await client.listCostSummaries({ pageSize: 500, pageToken }, { signal });
        for (const summary of page.summaries) {
          for (const event of cloudEventsFromSummary(summary, now())) {
            if ((await send(event, signal)) === "aborted") return;
            sent++;
          }
        }
        pageToken = page.nextPageToken;
      } while (pageToken !== "" && !signal.aborted);
      logger.debug({ events: sent }, "spend updates sent");
    } catch (error) {
      if (signal.aborted) return;
      logger.warn({ err: error }, "spend updates skipped this round: ListCostSummaries failed");
    }
    await sleep(intervalMs, signal);
  }
}
