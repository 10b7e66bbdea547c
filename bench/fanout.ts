// Alert fan-out: many WatchAlerts streams open, then alerts raised one at a time;
// each sample is the time from an alert's commit to its arrival on one watcher.
import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { BudgetPeriod } from "../gen/dreamnet/cost/v1/budget_pb.js";
import type { CostClient } from "../src/client/index.js";
import { CLUSTERS, percentiles } from "./workloads.js";

/** Longest wait for every watcher to open, or to receive one alert. */
const WAIT_MS = 10_000;

/**
 * Opens `watchers` WatchAlerts streams (spread round-robin over `client` when given
 * several clients, i.e. several HTTP/2 connections), raises `alerts` EXCEEDED alerts
 * one after the other, and resolves with p50/p99 in ms of commit-to-arrival over
 * every (alert, watcher) pair. Throws unless every watcher receives every alert.
 *
 * "Commit" is the event's event_time, which the server stamps just before it
 * evaluates the budget and commits the alert, so the figure slightly overstates the
 * latency. Client and server share the machine's wall clock; event_time has ms precision.
 */
export async function alertFanout(client: CostClient | readonly CostClient[], watchers: number, alerts: number): Promise<{ p50: number; p99: number }> {
  const clients = Array.isArray(client) ? (client as readonly CostClient[]) : [client as CostClient];
  const cluster = CLUSTERS[0] as string;
  const controller = new AbortController();
  // One signal shared by every watcher stream.
  setMaxListeners(0, controller.signal);

  // budget id -> latency of each arrival so far; `expected.done` is called on the last one.
  const latencies = new Map<string, number[]>();
  let expected: { budgetId: string; done: () => void } | undefined;
  let opened = 0;
  let openedAll: (() => void) | undefined;

  const streams = Array.from({ length: watchers }, async (_, w) => {
    const watcher = clients[w % clients.length] as CostClient;
    const seen = new Set<string>();
    try {
      for await (const message of watcher.watchAlerts({ clusterId: cluster }, { signal: controller.signal })) {
        const arrivedMs = performance.timeOrigin + performance.now();
        switch (message.message.case) {
          case "heartbeat":
            // Every stream opens with a heartbeat once its position is known: then it is live.
            if (++opened === watchers) openedAll?.();
            break;
          case "event": {
            const event = message.message.value;
            const budgetId = event.alert?.budgetId ?? "";
            if (!event.eventTime) throw new Error(`alert event ${event.cursor} has no event_time`);
            // Counting arrivals proves every watcher got the alert only if none gets it twice.
            if (seen.has(budgetId)) throw new Error(`watcher ${w} received alert ${budgetId} twice`);
            seen.add(budgetId);
            const list = latencies.get(budgetId) ?? [];
            list.push(arrivedMs - timestampMs(event.eventTime));
            latencies.set(budgetId, list);
            if (list.length === watchers && expected?.budgetId === budgetId) expected.done();
            break;
          }
          case "resumeRequired":
            throw new Error(`watcher ${w} was told to resume: ${message.message.value.reason}`);
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
  });
  const failed = Promise.all(streams).then(() => {
    if (!controller.signal.aborted) throw new Error("a watcher stream ended before the benchmark did");
  });
  // Raced against every wait below, so a stream failure surfaces at once rather than as a
  // time-out; handled here too, so that it is not reported as unhandled before then.
  failed.catch(() => undefined);

  try {
    await within(new Promise<void>((resolve) => (opened >= watchers ? resolve() : (openedAll = resolve))), failed, () => `only ${opened} of ${watchers} watchers opened`);
    const samples: number[] = [];
    for (let i = 0; i < alerts; i++) {
      const budgetId = `fanout-${i}-${randomUUID().slice(0, 8)}`;
      const arrived = new Promise<void>((resolve) => (expected = { budgetId, done: resolve }));
      // A budget far below the cluster's spend raises EXCEEDED before SetBudget returns.
      await (clients[0] as CostClient).setBudget({
        budget: { id: budgetId, clusterId: cluster, amount: { currencyCode: "USD", units: 0n, nanos: 1 }, period: BudgetPeriod.MONTHLY, alertThresholds: [] },
      });
      await within(arrived, failed, () => `only ${latencies.get(budgetId)?.length ?? 0} of ${watchers} watchers received alert ${budgetId}`);
      samples.push(...(latencies.get(budgetId) as number[]));
    }
    return percentiles(samples);
  } finally {
    controller.abort();
    await Promise.allSettled(streams);
  }
}

/** Waits for `done`, failing at once when `failed` rejects, or after WAIT_MS. */
async function within(done: Promise<void>, failed: Promise<void>, message: () => string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), WAIT_MS);
  });
  try {
    await Promise.race([done, failed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
