import type { Alert } from "../domain/alert.js";
import type { Budget } from "../domain/budget.js";
import { forecastSpend } from "../domain/budget-evaluation.js";
import { percentOf, subtractMoney, type Money } from "../domain/money.js";
import { periodRange } from "../domain/period.js";
import type { Clock, TimeRange } from "../domain/time.js";
import type { AlertEngine } from "./alert-engine.js";
import type { CostStore } from "./cost-store.js";
import { NotFoundError } from "./errors.js";
import { periodSpend } from "./period-spend.js";

/** A budget as a caller sets it; the server fills in the times. */
export type BudgetInput = Omit<Budget, "createdAtMs" | "updatedAtMs">;

/** Where a budget stands in its current period. */
export interface BudgetStatus {
  readonly budget: Budget;
  readonly period: TimeRange;
  readonly spent: Money;
  readonly remaining: Money;
  readonly percentUsed: number;
  /** Projected end-of-period spend; undefined before a tenth of the period has passed. */
  readonly forecast?: Money | undefined;
}

/** Budgets: set, read, delete, and where each stands. */
export interface BudgetService {
  /** Creates or replaces a budget (audited as `actor`), then evaluates it at once. */
  set(input: BudgetInput, actor: string): Promise<{ readonly budget: Budget; readonly created: boolean; readonly before?: Budget | undefined; readonly alerts: readonly Alert[] }>;
  get(id: string): Promise<Budget>;
  /** The budget with this id, if any. */
  find(id: string): Promise<Budget | undefined>;
  list(query: { readonly clusterIds?: readonly string[] | undefined; readonly after?: string | undefined; readonly limit: number }): Promise<{ readonly budgets: readonly Budget[]; readonly nextAfter?: string | undefined }>;
  /** Deletes a budget (audited as `actor`). */
  delete(id: string, actor: string): Promise<Budget>;
  status(id: string): Promise<BudgetStatus>;
}

/** Creates the budget service. */
export function createBudgetService(deps: { store: CostStore; clock: Clock; engine: AlertEngine }): BudgetService {
  const { store, clock, engine } = deps;
  const mustGet = async (id: string): Promise<Budget> => {
    const budget = await store.getBudget(id);
    if (!budget) throw new NotFoundError("budget", id);
    return budget;
  };
  return {
    async set(input, actor) {
      const nowMs = clock.now();
      const { stored, before } = await store.putBudget({ ...input, createdAtMs: nowMs, updatedAtMs: nowMs }, { actor, atMs: nowMs });
      // Setting or lowering a budget may already put spend past a threshold.
      const alerts = await engine.evaluate(stored);
      return { budget: stored, created: before === undefined, before, alerts };
    },
    get: mustGet,
    find: (id) => store.getBudget(id),
    async list({ clusterIds, after, limit }) {
      const budgets = await store.listBudgets({ clusterIds, after, limit: limit + 1 });
      const page = budgets.slice(0, limit);
      return { budgets: page, nextAfter: budgets.length > limit ? page[page.length - 1]?.id : undefined };
    },
    async delete(id, actor) {
      const before = await store.deleteBudget(id, { actor, atMs: clock.now() });
      if (!before) throw new NotFoundError("budget", id);
      return before;
    },
    async status(id) {
      const budget = await mustGet(id);
      const nowMs = clock.now();
      const period = periodRange(budget.period, nowMs, budget.timeZone);
      const spent = await periodSpend(store, budget, period);
      return {
        budget,
        period,
        spent,
        remaining: subtractMoney(budget.amount, spent),
        percentUsed: percentOf(spent, budget.amount),
        forecast: forecastSpend(spent, period, nowMs),
      };
    },
  };
}
