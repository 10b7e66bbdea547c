import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { CostDimension, type CostBreakdownEntry } from "../../../gen/dreamnet/cost/v1/cost_summary_pb.js";
import { h, setOptions } from "./dom.js";
import { moneyFromWire, sharePercent, sumMoney, type Money } from "./money-text.js";
import { showContent, showEmpty, showFailure, showLoading } from "./panel-state.js";
import { rpcFailureOf } from "./rpc-failure.js";
import { countText, moneyElement, percentText, type ViewContext } from "./view-context.js";

const DAY_MS = 86_400_000;

const GROUPINGS: Readonly<Record<string, { readonly dimension: CostDimension; readonly label: string }>> = {
  provider: { dimension: CostDimension.PROVIDER, label: "Provider" },
  operation: { dimension: CostDimension.OPERATION, label: "Operation" },
  model: { dimension: CostDimension.MODEL, label: "Model" },
  cluster: { dimension: CostDimension.CLUSTER, label: "Cluster" },
};

/** Controls of the breakdown. */
export interface BreakdownControls {
  readonly cluster: HTMLSelectElement;
  readonly dimension: HTMLSelectElement;
  readonly range: HTMLSelectElement;
}

interface Row {
  readonly key: string;
  readonly cost: Money;
  readonly records: bigint;
}

/** Spend grouped by provider, operation, model or cluster over a range (GetCostBreakdown), with exact totals and shares per currency. */
export function createBreakdownView(context: ViewContext, body: HTMLElement, controls: BreakdownControls) {
  let request: AbortController | undefined;

  async function load(): Promise<void> {
    request?.abort();
    const thisRequest = new AbortController();
    request = thisRequest;
    showLoading(body);
    const grouping = GROUPINGS[controls.dimension.value] ?? { dimension: CostDimension.PROVIDER, label: "Provider" };
    const days = Number(controls.range.value) || 30;
    let entries: CostBreakdownEntry[];
    try {
      const response = await context.client.getCostBreakdown(
        { clusterId: controls.cluster.value, dimension: grouping.dimension, startTime: timestampFromMs(context.now() - days * DAY_MS) },
        { signal: thisRequest.signal },
      );
      if (thisRequest.signal.aborted) return;
      entries = response.entries;
    } catch (error) {
      if (thisRequest.signal.aborted) return;
      const failure = rpcFailureOf(error);
      context.failed(failure);
      showFailure(body, "Could not load the breakdown.", failure);
      return;
    }
    if (entries.length === 0) {
      const rangeLabel = controls.range.options[controls.range.selectedIndex]?.text.toLowerCase() ?? "this range";
      showEmpty(body, `No costs recorded in the ${rangeLabel}${controls.cluster.value ? ` for ${controls.cluster.value}` : ""}.`, "Pick a longer range or another cluster.");
      return;
    }
    showContent(body, breakdownTable(entries, grouping.label, context));
  }

  for (const select of [controls.cluster, controls.dimension, controls.range]) select.addEventListener("change", () => void load());

  return {
    load,
    /** Offers these clusters in the cluster selector. */
    setClusters(clusterIds: readonly string[]): void {
      setOptions(controls.cluster, [["", "All clusters"], ...clusterIds.map((id): [string, string] => [id, id])]);
    },
  };
}

function breakdownTable(entries: readonly CostBreakdownEntry[], groupLabel: string, context: ViewContext): HTMLElement {
  const { locale } = context;
  // Entries come ordered by currency, then cost: keep that order, one body per currency.
  const byCurrency = new Map<string, Row[]>();
  for (const entry of entries) {
    const cost = moneyFromWire(entry.cost);
    const rows = byCurrency.get(cost.currency) ?? [];
    rows.push({ key: entry.key, cost, records: entry.recordCount });
    byCurrency.set(cost.currency, rows);
  }
  const bodies = [...byCurrency.entries()].map(([currency, rows]) => {
    const total = sumMoney(rows.map((r) => r.cost), currency);
    const records = rows.reduce((n, r) => n + r.records, 0n);
    return h(
        "tbody",
        { "data-currency": currency },
        rows.map((row) =>
          h(
            "tr",
            { "data-key": row.key, "data-currency": currency },
            h("th", { scope: "row", "data-label": groupLabel }, row.key === "" ? h("span", { class: "muted" }, `(no ${groupLabel.toLowerCase()})`) : row.key),
            h("td", { "data-label": "Currency" }, currency),
            h("td", { class: "num", "data-label": "Cost" }, moneyElement(row.cost, locale)),
            h("td", { class: "num", "data-label": "Share" }, shareCell(sharePercent(row.cost, total), locale)),
            h("td", { class: "num", "data-label": "Records" }, countText(row.records, locale)),
          ),
        ),
        rows.length < 2
          ? null
          : h(
              "tr",
              { class: "total-row", "data-currency": currency },
              h("th", { scope: "row", "data-label": groupLabel }, `Total ${currency}`),
              h("td", { "data-label": "Currency" }, currency),
              h("td", { class: "num", "data-label": "Cost" }, moneyElement(total, locale)),
              h("td", { class: "num", "data-label": "Share" }, percentText(100, locale)),
              h("td", { class: "num", "data-label": "Records" }, countText(records, locale)),
            ),
      );
  });
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data cards-on-narrow" },
      h("caption", { class: "visually-hidden" }, `Spend by ${groupLabel.toLowerCase()}, per currency`),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, groupLabel),
          h("th", { scope: "col" }, "Currency"),
          h("th", { scope: "col", class: "num" }, "Cost"),
          h("th", { scope: "col", class: "num" }, "Share"),
          h("th", { scope: "col", class: "num" }, "Records"),
        ),
      ),
      bodies,
    ),
  );
}

function shareCell(percent: number, locale: string | undefined): HTMLElement {
  const bar = h("span", { class: "share-bar", "aria-hidden": "true" });
  bar.style.setProperty("--share", `${Math.min(100, Math.max(0, percent))}%`);
  return h("span", { class: "share" }, bar, percentText(percent, locale));
}
