import type { Money } from "../domain/money.js";
import { NANOS_PER_UNIT } from "../domain/money.js";
import { DAY_MS, ceilTo, type Clock } from "../domain/time.js";
import { WINDOW_MS, type SummaryWindow } from "../domain/windows.js";
import type { CostStore } from "./cost-store.js";
import { NotFoundError } from "./errors.js";
import { sumRange } from "./range-sum.js";

/** A cluster's spend in one currency. */
export interface CurrencySummary {
  readonly currency: string;
  readonly total: Money;
  readonly today: Money;
  readonly thisWeek: Money;
  readonly thisMonth: Money;
  readonly recordCount: number;
  readonly recordCountToday: number;
}

/** A cluster's spend over the rolling windows, per currency. */
export interface ClusterSummary {
  readonly clusterId: string;
  /** Ordered by currency code. */
  readonly currencies: readonly CurrencySummary[];
  readonly recordCount: number;
  readonly lastUpdateMs: number;
  readonly asOfMs: number;
}

/** A page of summaries. */
export interface SummaryPage {
  readonly summaries: readonly ClusterSummary[];
  /** The last cluster id of the page when more may follow. */
  readonly nextAfter?: string | undefined;
}

/** Reads cluster summaries. */
export interface SummaryReader {
  /** One cluster's summary; NotFoundError when it has no records (or is not in `visible`). */
  get(clusterId: string): Promise<ClusterSummary>;
  /** Summaries ordered by cluster id, after `after`; `visible` limits the clusters (undefined: all). */
  list(query: { readonly after?: string | undefined; readonly limit: number; readonly visible?: readonly string[] | undefined }): Promise<SummaryPage>;
}

const WINDOWS: readonly SummaryWindow[] = ["today", "thisWeek", "thisMonth"];

/** Creates the summary reader. `maxFutureSkewMs` is how far ahead a stored timestamp can be. */
export function createSummaryReader(deps: { store: CostStore; clock: Clock; maxFutureSkewMs: number }): SummaryReader {
  const { store, clock } = deps;

  async function summarise(clusterIds: readonly string[]): Promise<ClusterSummary[]> {
    if (clusterIds.length === 0) return [];
    const nowMs = clock.now();
    // Windows end past the furthest timestamp ingestion accepts, on a day boundary so
    // the newest part is answered by whole day buckets.
    const openEndMs = ceilTo(nowMs + deps.maxFutureSkewMs, DAY_MS);
    const [totals, ...windows] = await Promise.all([
      store.clusterTotals(clusterIds),
      ...WINDOWS.map((w) =>
        sumRange(store, { range: { fromMs: nowMs - WINDOW_MS[w], toMs: openEndMs }, filter: { clusterIds }, groupBy: ["cluster"] }),
      ),
    ]);
    const windowSums = windows.map((sums) => new Map(sums.map((s) => [`${s.clusterId}\u0000${s.currency}`, s])));
    const byCluster = new Map<string, { currencies: CurrencySummary[]; count: number; lastUpdateMs: number }>();
    for (const total of totals) {
      const key = `${total.clusterId}\u0000${total.currency}`;
      const [today, week, month] = windowSums.map((m) => m.get(key));
      const money = (nanos: bigint | undefined): Money => ({ currency: total.currency, nanos: nanos ?? 0n });
      const entry = byCluster.get(total.clusterId) ?? { currencies: [], count: 0, lastUpdateMs: 0 };
      entry.currencies.push({
        currency: total.currency,
        total: money(total.units * NANOS_PER_UNIT + total.nanos),
        today: money(today?.nanos),
        thisWeek: money(week?.nanos),
        thisMonth: money(month?.nanos),
        recordCount: total.count,
        recordCountToday: today?.count ?? 0,
      });
      entry.count += total.count;
      entry.lastUpdateMs = Math.max(entry.lastUpdateMs, total.lastUpdateMs);
      byCluster.set(total.clusterId, entry);
    }
    return clusterIds.flatMap((clusterId) => {
      const entry = byCluster.get(clusterId);
      if (!entry) return [];
      entry.currencies.sort((a, b) => (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0));
      return [{ clusterId, currencies: entry.currencies, recordCount: entry.count, lastUpdateMs: entry.lastUpdateMs, asOfMs: nowMs }];
    });
  }

  return {
    async get(clusterId) {
      const [summary] = await summarise([clusterId]);
      if (!summary) throw new NotFoundError("cluster", clusterId);
      return summary;
    },
    async list({ after, limit, visible }) {
      const clusterIds = await store.listClusters({ after, limit: limit + 1, clusterIds: visible });
      const page = clusterIds.slice(0, limit);
      const summaries = await summarise(page);
      return { summaries, nextAfter: clusterIds.length > limit ? page[page.length - 1] : undefined };
    },
  };
}
