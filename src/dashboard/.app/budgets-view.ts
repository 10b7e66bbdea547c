import type { BudgetStatus, CostBudget } from "../../../gen/dreamnet/cost/v1/budget_pb.js";
import { h } from "./dom.js";
import { moneyFromWire } from "./money-text.js";
import { failureBlock, showContent, showEmpty, showFailure, showLoading } from "./panel-state.js";
import { periodName } from "./period-text.js";
import { rpcFailureOf, type RpcFailure } from "./rpc-failure.js";
import { isoText, msOf, relativeText } from "./time-text.js";
import { moneyElement, percentText, type ViewContext } from "./view-context.js";

/** Most budgets the page reads (pages of 500). */
const MAX_BUDGETS = 1_000;
/** Status calls in flight at once: HTTP/1.1 gives a page six connections and the alert stream holds one. */
const STATUS_CONCURRENCY = 4;

type StatusOutcome = { readonly budget: CostBudget; readonly status?: BudgetStatus; readonly failure?: RpcFailure };

/** Budgets with a progress bar each: spend, amount, percent used, remaining, forecast and when the period resets. */
export function createBudgetsView(context: ViewContext, body: HTMLElement) {
  return {
    async load(): Promise<void> {
      showLoading(body);
      let budgets: CostBudget[];
      try {
        budgets = await listAllBudgets(context);
      } catch (error) {
        const failure = rpcFailureOf(error);
        context.failed(failure);
        showFailure(body, "Could not load the budgets.", failure);
        return;
      }
      if (budgets.length === 0) {
        showEmpty(body, "No budgets set.", ["Set one with SetBudget (or ", h("code", {}, "cost-core budget set"), "); its spend shows here with a progress bar."]);
        return;
      }
      const outcomes = await mapLimited(budgets, STATUS_CONCURRENCY, async (budget): Promise<StatusOutcome> => {
        try {
          const response = await context.client.getBudgetStatus({ budgetId: budget.id });
          return { budget, status: response.status };
        } catch (error) {
          const failure = rpcFailureOf(error);
          context.failed(failure);
          return { budget, failure };
        }
      });
      // Closest to (or furthest past) its amount first; disabled budgets last.
      outcomes.sort((a, b) => rank(b) - rank(a) || (a.budget.id < b.budget.id ? -1 : 1));
      showContent(body, h("ul", { class: "budget-list" }, outcomes.map((o) => budgetItem(o, context))));
    },
  };
}

function rank(outcome: StatusOutcome): number {
  if (outcome.budget.enabled === false) return -1;
  return outcome.status?.percentUsed ?? 0;
}

async function listAllBudgets(context: ViewContext): Promise<CostBudget[]> {
  const all: CostBudget[] = [];
  let pageToken = "";
  do {
    const page = await context.client.listBudgets({ pageSize: 500, pageToken });
    all.push(...page.budgets);
    pageToken = page.nextPageToken;
  } while (pageToken !== "" && all.length < MAX_BUDGETS);
  return all;
}

async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const at = next++;
      results[at] = await work(items[at] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function budgetItem(outcome: StatusOutcome, context: ViewContext): HTMLElement {
  const { budget, status, failure } = outcome;
  const { locale } = context;
  const zone = budget.timeZone || "UTC";
  const titleId = `budget-title-${budget.id}`;
  const head = [
    h("p", { class: "budget-title", id: titleId }, h("strong", {}, budget.id), budget.enabled === false ? h("span", { class: "badge badge--muted" }, "Alerts off") : null),
    h("p", { class: "muted small" }, `${budget.clusterId} · ${periodName(budget.period)} · ${zone}`),
  ];
  if (!status) {
    return h("li", { class: "budget", "data-budget-id": budget.id }, head, failure ? failureBlock("Could not load this budget's status.", failure) : null);
  }
  const amount = moneyFromWire(budget.amount);
  const spent = moneyFromWire(status.spent, amount.currency);
  const remaining = moneyFromWire(status.remaining, amount.currency);
  const percent = status.percentUsed;
  const thresholds = [...budget.alertThresholds].sort((a, b) => a - b);
  const level = percent >= 100 ? "over" : percent >= (thresholds[0] ?? 80) ? "warn" : "ok";
  const fill = h("div", { class: "bar-fill" });
  fill.style.width = `${Math.min(100, Math.max(0, percent))}%`;
  const bar = h(
    "div",
    {
      class: "bar",
      role: "progressbar",
      "aria-labelledby": titleId,
      "aria-valuemin": 0,
      "aria-valuemax": 100,
      "aria-valuenow": Math.min(100, Math.max(0, percent)),
      "aria-valuetext": `${percentText(percent, locale)} of the budget used`,
      "data-level": level,
    },
    fill,
    thresholds.filter((t) => t < 100).map((t) => {
      const tick = h("span", { class: "bar-tick", title: `${t} % threshold` });
      tick.style.left = `${t}%`;
      return tick;
    }),
  );
  const endMs = msOf(status.periodEndTime);
  const resets =
    endMs === undefined
      ? "unknown"
      : h(
          "time",
          { datetime: isoText(endMs) },
          relativeText(endMs, context.now(), locale),
          h("span", { class: "muted" }, ` (${new Intl.DateTimeFormat(locale, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: zone, timeZoneName: "short" }).format(endMs)})`),
        );
  return h(
    "li",
    { class: "budget", "data-budget-id": budget.id, "data-level": level },
    head,
    h("p", { class: "budget-spent" }, moneyElement(spent, locale), h("span", { class: "muted" }, " of "), moneyElement(amount, locale), h("span", { class: `percent percent--${level}` }, percentText(percent, locale))),
    bar,
    h(
      "dl",
      { class: "facts" },
      remaining.nanos < 0n ? fact("Over by", moneyElement({ currency: remaining.currency, nanos: -remaining.nanos }, locale)) : fact("Remaining", moneyElement(remaining, locale)),
      fact("Forecast", status.forecast ? moneyElement(moneyFromWire(status.forecast), locale) : h("span", { class: "muted" }, "too early in the period")),
      fact("Resets", resets),
    ),
  );
}

function fact(term: string, value: Node | string): HTMLElement {
  return h("div", { "data-fact": term }, h("dt", {}, term), h("dd", {}, value));
}
