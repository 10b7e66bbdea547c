import { randomUUID } from "node:crypto";
import { alertKey, type Alert } from "../domain/alert.js";
import type { Budget } from "../domain/budget.js";
import { evaluateBudget } from "../domain/budget-evaluation.js";
import { periodRange, previousPeriodRange } from "../domain/period.js";
import type { Clock, TimeRange } from "../domain/time.js";
import type { CostStore } from "./cost-store.js";
import type { CommittedBatch } from "./ingest.js";
import { periodSpend } from "./period-spend.js";

/** The record timestamps a batch touched for one cluster. */
interface Span {
  earliestMs: number;
  latestMs: number;
}

/** Raises budget alerts: after committed spend, and at once when a budget changes. */
export interface AlertEngine {
  /** Notes the clusters a committed batch touched; they are evaluated soon, in the background. */
  onCommitted(batch: CommittedBatch): void;
  /** Evaluates one budget's current period now; resolves with the alerts it created. */
  evaluate(budget: Budget): Promise<Alert[]>;
  /**
   * Evaluates every enabled budget's current and previous period, in the background.
   * Run at start: a process that died between committing records and raising the
   * alerts they call for left nothing else that would raise them.
   */
  evaluateAll(): void;
  /** Resolves once no evaluation is pending or running. */
  idle(): Promise<void>;
}

/** What the engine needs. `onAlertCreated` runs after each new alert (and its feed event) is committed. */
export interface AlertEngineDeps {
  readonly store: CostStore;
  readonly clock: Clock;
  readonly onAlertCreated: (alert: Alert) => void;
  readonly onError: (error: unknown) => void;
  /** Delay before retrying after the store failed (default 1 s). */
  readonly retryMs?: number;
}

/**
 * Evaluation runs one pass at a time: clusters dirtied while a pass runs are
 * taken by the next pass, so bursts of batches cost few evaluations. Uniqueness
 * of alerts is the store's unique key, so passes on several instances are safe.
 */
export function createAlertEngine(deps: AlertEngineDeps): AlertEngine {
  const { store, clock } = deps;
  // Cluster -> earliest and latest record timestamps seen since its last evaluation.
  let dirty = new Map<string, Span>();
  let running: Promise<void> | undefined;
  let retry: NodeJS.Timeout | undefined;
  const sweeps = new Set<Promise<void>>();

  async function evaluatePeriod(budget: Budget, period: TimeRange, nowMs: number): Promise<Alert[]> {
    const existing = await store.alertKeysForPeriod(budget.id, period.fromMs);
    const keyOf = (kind: Alert["kind"], thresholdPercent: number): string =>
      alertKey({ budgetId: budget.id, period: budget.period, periodStartMs: period.fromMs, kind, thresholdPercent });
    // Once every threshold and EXCEEDED have fired, nothing more can happen this period.
    if (existing.has(keyOf("exceeded", 100)) && budget.thresholds.every((t) => existing.has(keyOf("threshold", t)))) return [];

    const spent = await periodSpend(store, budget, period);
    const created: Alert[] = [];
    for (const candidate of evaluateBudget(budget, spent, period, nowMs)) {
      if (existing.has(keyOf(candidate.kind, candidate.thresholdPercent))) continue;
      const alert: Alert = {
        id: randomUUID(),
        clusterId: budget.clusterId,
        budgetId: budget.id,
        ...candidate,
        period: budget.period,
        periodStartMs: period.fromMs,
        periodEndMs: period.toMs,
        triggeredAtMs: nowMs,
        acknowledged: false,
        acknowledgedBy: "",
        acknowledgedAtMs: 0,
        acknowledgeNote: "",
      };
      const result = await store.insertAlert(alert, nowMs);
      if (result.created) {
        created.push(alert);
        deps.onAlertCreated(alert);
      }
    }
    return created;
  }

  async function evaluate(budget: Budget, span?: Span): Promise<Alert[]> {
    if (!budget.enabled) return [];
    const nowMs = clock.now();
    const current = periodRange(budget.period, nowMs, budget.timeZone);
    const created = await evaluatePeriod(budget, current, nowMs);
    // A late record may have pushed the previous period over a threshold.
    if (span && span.earliestMs < current.fromMs) {
      const previous = previousPeriodRange(budget.period, nowMs, budget.timeZone);
      if (span.earliestMs >= previous.fromMs) created.push(...(await evaluatePeriod(budget, previous, nowMs)));
    }
    // A record stamped a little ahead of this clock (within the allowed skew) may
    // already belong to the next period.
    if (span && span.latestMs >= current.toMs) {
      created.push(...(await evaluatePeriod(budget, periodRange(budget.period, span.latestMs, budget.timeZone), nowMs)));
    }
    return created;
  }

  async function pass(): Promise<void> {
    while (dirty.size > 0) {
      const batch = dirty;
      dirty = new Map();
      try {
        const budgets = await store.budgetsForClusters([...batch.keys()]);
        for (const budget of budgets) await evaluate(budget, batch.get(budget.clusterId));
      } catch (error) {
        // Nothing is lost: put the clusters back and try again shortly.
        for (const [cluster, span] of batch) mergeSpan(cluster, span.earliestMs, span.latestMs);
        deps.onError(error);
        scheduleRetry();
        return;
      }
    }
  }

  function mergeSpan(clusterId: string, earliestMs: number, latestMs: number): void {
    const seen = dirty.get(clusterId);
    if (!seen) dirty.set(clusterId, { earliestMs, latestMs });
    else {
      seen.earliestMs = Math.min(seen.earliestMs, earliestMs);
      seen.latestMs = Math.max(seen.latestMs, latestMs);
    }
  }

  function scheduleRetry(): void {
    if (retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      kick();
    }, deps.retryMs ?? 1_000);
    retry.unref();
  }

  function kick(): void {
    if (running) return;
    running = pass().finally(() => {
      running = undefined;
      if (dirty.size > 0 && !retry) kick();
    });
  }

  return {
    onCommitted(batch) {
      // Duplicates count too: a re-send after a crash may be all that is left to
      // trigger the evaluation the first attempt's commit called for.
      for (const record of batch.submittedRecords) mergeSpan(record.clusterId, record.timestampMs, record.timestampMs);
      kick();
    },
    evaluateAll() {
      const pending = (async () => {
        let after: string | undefined;
        for (;;) {
          const budgets = await store.listBudgets({ after, limit: 500 });
          const nowMs = clock.now();
          for (const budget of budgets) {
            const previous = previousPeriodRange(budget.period, nowMs, budget.timeZone);
            await evaluate(budget, { earliestMs: previous.fromMs, latestMs: nowMs });
          }
          if (budgets.length < 500) return;
          after = budgets[budgets.length - 1]?.id;
        }
      })().catch((error: unknown) => {
        deps.onError(error);
        // Retry the whole sweep later; alerts already raised make it cheap.
        setTimeout(() => this.evaluateAll(), deps.retryMs ?? 1_000).unref();
      });
      sweeps.add(pending);
      void pending.finally(() => sweeps.delete(pending));
    },
    evaluate: (budget) => evaluate(budget),
    async idle() {
      while (running || sweeps.size > 0) {
        if (running) await running;
        await Promise.all(sweeps);
      }
    },
  };
}
