import type { CostSummary } from "../../../gen/dreamnet/cost/v1/cost_summary_pb.js";
import { h } from "./dom.js";
import { moneyFromWire, sumMoney, type Money } from "./money-text.js";
import { showContent, showEmpty, showFailure, showLoading } from "./panel-state.js";
import { rpcFailureOf } from "./rpc-failure.js";
import { countText, moneyElement, type ViewContext } from "./view-context.js";

/** The four rolling windows, in the order shown. */
const WINDOWS = [
  { label: "Last 24 h", pick: (c: CurrencyLine) => c.today },
  { label: "Last 7 days", pick: (c: CurrencyLine) => c.week },
  { label: "Last 30 days", pick: (c: CurrencyLine) => c.month },
  { label: "All time", pick: (c: CurrencyLine) => c.total },
] as const;

interface CurrencyLine {
  readonly clusterId: string;
  readonly currency: string;
  readonly today: Money;
  readonly week: Money;
  readonly month: Money;
  readonly total: Money;
  readonly records: bigint;
}

/** Most summaries the page reads (pages of 500). */
const MAX_CLUSTERS = 5_000;

/** The clusters overview: per cluster and currency, spend over the rolling windows, with exact totals per currency. */
export function createOverviewView(context: ViewContext, body: HTMLElement) {
  return {
    /** Loads and shows the summaries; resolves to the cluster ids (empty when the call failed). */
    async load(): Promise<string[]> {
      showLoading(body);
      let summaries: CostSummary[];
      try {
        summaries = await listAllSummaries(context);
      } catch (error) {
        const failure = rpcFailureOf(error);
        context.failed(failure);
        showFailure(body, "Could not load the cluster summaries.", failure);
        return [];
      }
      const lines = summaries.flatMap((s) =>
        s.currencies.map((c) => ({
          clusterId: s.clusterId,
          currency: c.currencyCode,
          today: moneyFromWire(c.costToday, c.currencyCode),
          week: moneyFromWire(c.costThisWeek, c.currencyCode),
          month: moneyFromWire(c.costThisMonth, c.currencyCode),
          total: moneyFromWire(c.totalCost, c.currencyCode),
          records: c.recordCount,
        })),
      );
      if (lines.length === 0) {
        showEmpty(body, "No costs recorded yet.", "Costs sent with RecordCost or RecordCosts appear here, per cluster and currency.");
      } else {
        showContent(body, totalsTiles(lines, context.locale), summaryTable(lines, summaries.length, context.locale));
      }
      return summaries.map((s) => s.clusterId);
    },
  };
}

async function listAllSummaries(context: ViewContext): Promise<CostSummary[]> {
  const all: CostSummary[] = [];
  let pageToken = "";
  do {
    const page = await context.client.listCostSummaries({ pageSize: 500, pageToken });
    all.push(...page.summaries);
    pageToken = page.nextPageToken;
  } while (pageToken !== "" && all.length < MAX_CLUSTERS);
  return all;
}

/** One tile per currency: the exact sums over every cluster. */
function totalsTiles(lines: readonly CurrencyLine[], locale: string | undefined): HTMLElement {
  const currencies = [...new Set(lines.map((l) => l.currency))].sort();
  return h(
    "ul",
    { class: "tiles", "aria-label": "Totals per currency, all clusters" },
    currencies.map((currency) => {
      const mine = lines.filter((l) => l.currency === currency);
      const sum = (pick: (l: CurrencyLine) => Money): Money => sumMoney(mine.map(pick), currency);
      return h(
        "li",
        { class: "tile", "data-currency": currency },
        h("p", { class: "tile-label" }, `${currency} · last 24 h`),
        h("p", { class: "tile-value" }, moneyElement(sum((l) => l.today), locale)),
        h(
          "dl",
          { class: "tile-facts" },
          h("div", {}, h("dt", {}, "7 days"), h("dd", {}, moneyElement(sum((l) => l.week), locale))),
          h("div", {}, h("dt", {}, "30 days"), h("dd", {}, moneyElement(sum((l) => l.month), locale))),
          h("div", {}, h("dt", {}, "All time"), h("dd", {}, moneyElement(sum((l) => l.total), locale))),
        ),
      );
    }),
  );
}

function summaryTable(lines: readonly CurrencyLine[], clusterCount: number, locale: string | undefined): HTMLElement {
  const row = (line: CurrencyLine, head: string, isTotal: boolean): HTMLElement =>
    h(
      "tr",
      { "data-cluster": isTotal ? undefined : line.clusterId, "data-currency": line.currency, class: isTotal ? "total-row" : undefined },
      h("th", { scope: "row", "data-label": "Cluster" }, head),
      h("td", { "data-label": "Currency" }, line.currency),
      WINDOWS.map((w) => h("td", { class: "num", "data-label": w.label, "data-window": w.label }, moneyElement(w.pick(line), locale))),
      h("td", { class: "num", "data-label": "Records" }, countText(line.records, locale)),
    );
  const currencies = [...new Set(lines.map((l) => l.currency))].sort();
  const totals = currencies.map((currency): CurrencyLine => {
    const mine = lines.filter((l) => l.currency === currency);
    return {
      clusterId: "",
      currency,
      today: sumMoney(mine.map((l) => l.today), currency),
      week: sumMoney(mine.map((l) => l.week), currency),
      month: sumMoney(mine.map((l) => l.month), currency),
      total: sumMoney(mine.map((l) => l.total), currency),
      records: mine.reduce((n, l) => n + l.records, 0n),
    };
  });
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data cards-on-narrow" },
      h("caption", { class: "visually-hidden" }, "Spend per cluster and currency over rolling windows"),
      h(
        "thead",
        {},
        h("tr", {}, h("th", { scope: "col" }, "Cluster"), h("th", { scope: "col" }, "Currency"), WINDOWS.map((w) => h("th", { scope: "col", class: "num" }, w.label)), h("th", { scope: "col", class: "num" }, "Records")),
      ),
      h("tbody", {}, lines.map((l) => row(l, l.clusterId, false))),
      clusterCount > 1 ? h("tfoot", {}, totals.map((t) => row(t, "All clusters", true))) : null,
    ),
  );
}
