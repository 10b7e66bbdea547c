import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip, type ChartConfiguration } from "chart.js";
import { CostDimension, SeriesGranularity, type CostSeriesPoint } from "../../../gen/dreamnet/cost/v1/cost_summary_pb.js";
import { h, setOptions } from "./dom.js";
import { compactMoneyText, exactMoneyText, moneyForPlot, moneyText } from "./money-text.js";
import { showContent, showEmpty, showFailure, showLoading } from "./panel-state.js";
import { rpcFailureOf } from "./rpc-failure.js";
import { bucketStarts, seriesModel, type Granularity, type SeriesModel } from "./series-model.js";
import { isoText } from "./time-text.js";
import { countText, moneyElement, type ViewContext } from "./view-context.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

/** Split choices of the selector, as CostDimension values. */
export const DIMENSIONS: Readonly<Record<string, CostDimension>> = {
  none: CostDimension.UNSPECIFIED,
  provider: CostDimension.PROVIDER,
  operation: CostDimension.OPERATION,
  model: CostDimension.MODEL,
  cluster: CostDimension.CLUSTER,
};

// Tableau 10: distinct in both colour schemes and for the common colour-vision deficiencies.
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

/** Controls of the chart. */
export interface SpendControls {
  readonly cluster: HTMLSelectElement;
  readonly granularity: HTMLSelectElement;
  readonly split: HTMLSelectElement;
  readonly currency: HTMLSelectElement;
}

/** Spend over time as a stacked bar chart (GetCostSeries), with a table of the same numbers. */
export function createSpendView(context: ViewContext, body: HTMLElement, controls: SpendControls) {
  let chart: Chart<"bar"> | undefined;
  let points: readonly CostSeriesPoint[] = [];
  let buckets: readonly number[] = [];
  /** What `points` were asked for (the selectors may have moved on since). */
  let loadedGranularity: Granularity = "hour";
  let loadedSplit = { value: "none", label: "" };
  let request: AbortController | undefined;
  // The table stays open across redraws once the reader opened it.
  let tableOpen = false;
  const reducedMotion = matchMedia("(prefers-reduced-motion: reduce)");
  const darkScheme = matchMedia("(prefers-color-scheme: dark)");

  async function load(): Promise<void> {
    request?.abort();
    const thisRequest = new AbortController();
    request = thisRequest;
    showLoading(body);
    const granularity: Granularity = controls.granularity.value === "day" ? "day" : "hour";
    const nowMs = context.now();
    const starts = bucketStarts(granularity, nowMs);
    const split = { value: controls.split.value, label: controls.split.options[controls.split.selectedIndex]?.text ?? "" };
    try {
      const response = await context.client.getCostSeries(
        {
          clusterId: controls.cluster.value,
          granularity: granularity === "day" ? SeriesGranularity.DAY : SeriesGranularity.HOUR,
          startTime: timestampFromMs(starts[0] ?? nowMs),
          splitBy: DIMENSIONS[split.value] ?? CostDimension.UNSPECIFIED,
          timeZone: granularity === "day" ? localTimeZone() : "",
        },
        { signal: thisRequest.signal },
      );
      if (thisRequest.signal.aborted) return;
      points = response.points;
      buckets = starts;
      loadedGranularity = granularity;
      loadedSplit = split;
    } catch (error) {
      if (thisRequest.signal.aborted) return;
      const failure = rpcFailureOf(error);
      context.failed(failure);
      destroyChart();
      showFailure(body, "Could not load spend over time.", failure);
      return;
    }
    render();
  }

  function render(): void {
    const probe = seriesModel(points, buckets, controls.currency.value);
    const preferred = probe.currencies.includes(controls.currency.value) ? controls.currency.value : probe.currencies.includes("USD") ? "USD" : probe.currencies[0];
    setOptions(controls.currency, probe.currencies.length > 0 ? probe.currencies.map((c) => [c, c]) : [["", "None"]], preferred);
    controls.currency.disabled = probe.currencies.length <= 1;
    if (probe.currencies.length === 0) {
      destroyChart();
      showEmpty(body, controls.cluster.value ? `No costs recorded for ${controls.cluster.value} in this range.` : "No costs recorded in this range.", "Pick a longer range, another cluster, or send some costs.");
      return;
    }
    const model = probe.currencies.includes(controls.currency.value) ? seriesModel(points, buckets, controls.currency.value) : probe;
    draw(model, controls.currency.value);
  }

  function draw(model: SeriesModel, currency: string): void {
    const { locale } = context;
    const granularity = loadedGranularity;
    const labelFormat = new Intl.DateTimeFormat(locale, granularity === "hour" ? { hour: "2-digit", minute: "2-digit" } : { month: "short", day: "numeric" });
    const labels = model.buckets.map((ms) => labelFormat.format(ms));
    const splitLabel = loadedSplit.label;
    const keyLabel = (key: string, isOther: boolean): string => (isOther ? "Other" : loadedSplit.value === "none" ? `Total ${currency}` : key === "" ? `(no ${splitLabel.toLowerCase()})` : key);
    const colors = themeColors();
    const datasets = model.series.map((s, i) => ({
      label: keyLabel(s.key, s.isOther),
      data: s.amounts.map((a) => (a ? moneyForPlot(a) : 0)),
      exact: s.amounts.map((a) => (a ? moneyText(a, locale) : "")),
      backgroundColor: s.isOther ? colors.muted : (PALETTE[i % PALETTE.length] as string),
      borderWidth: 0,
      stack: "spend",
    }));
    const rangeText = granularity === "hour" ? "per hour over the last 24 hours" : "per day over the last 30 days";
    const config: ChartConfiguration<"bar"> = {
      type: "bar",
      data: { labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: reducedMotion.matches ? false : { duration: 250 },
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, grid: { display: false }, ticks: { color: colors.text, maxRotation: 0, autoSkipPadding: 8 } },
          y: { stacked: true, beginAtZero: true, grid: { color: colors.grid }, ticks: { color: colors.text, callback: (value) => compactMoneyText(Number(value), currency, locale) } },
        },
        plugins: {
          legend: { position: "bottom", labels: { color: colors.text, boxWidth: 12, boxHeight: 12 } },
          tooltip: {
            callbacks: {
              // The exact amount, not the float the bar is drawn from.
              label: (item) => `${item.dataset.label ?? ""}: ${(item.dataset as { exact?: string[] }).exact?.[item.dataIndex] || moneyText({ currency, nanos: 0n }, locale)}`,
            },
          },
        },
      },
    };
    destroyChart();
    const table = pointsTable(model, keyLabel, granularity, context);
    table.open = tableOpen;
    table.addEventListener("toggle", () => {
      tableOpen = table.open;
    });
    const canvas = h("canvas", { role: "img", "aria-label": `Stacked bar chart of ${currency} spend ${rangeText}, split by ${splitLabel.toLowerCase()}. The same numbers are in the table below.` });
    showContent(
      body,
      h("figure", { class: "chart" }, h("div", { class: "chart-box" }, canvas), h("figcaption", { class: "muted" }, granularity === "hour" ? "Total over the last 24 hours: " : "Total over the last 30 days: ", moneyElement(model.total, locale))),
      table,
    );
    chart = new Chart(canvas, config);
  }

  function destroyChart(): void {
    chart?.destroy();
    chart = undefined;
  }

  for (const select of [controls.cluster, controls.granularity, controls.split]) select.addEventListener("change", () => void load());
  controls.currency.addEventListener("change", render);
  // Redraw in the other scheme's colours when the reader's system switches.
  darkScheme.addEventListener("change", () => {
    if (chart) render();
  });

  return {
    load,
    /** Offers these clusters in the cluster selector. */
    setClusters(clusterIds: readonly string[]): void {
      setOptions(controls.cluster, [["", "All clusters"], ...clusterIds.map((id): [string, string] => [id, id])]);
    },
  };
}

function pointsTable(model: SeriesModel, keyLabel: (key: string, isOther: boolean) => string, granularity: Granularity, context: ViewContext): HTMLDetailsElement {
  const format = new Intl.DateTimeFormat(context.locale, granularity === "hour" ? { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" } : { year: "numeric", month: "short", day: "numeric" });
  const table = h(
    "table",
    { class: "data cards-on-narrow" },
    h("caption", { class: "visually-hidden" }, "Spend per bucket and group"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, granularity === "hour" ? "Hour" : "Day"), h("th", { scope: "col" }, "Group"), h("th", { scope: "col", class: "num" }, "Cost"), h("th", { scope: "col", class: "num" }, "Records"))),
    h(
      "tbody",
      {},
      model.rows.map((row) =>
        h(
          "tr",
          { "data-key": row.key },
          h("td", { "data-label": granularity === "hour" ? "Hour" : "Day" }, h("time", { datetime: isoText(row.bucketMs) }, format.format(row.bucketMs))),
          h("td", { "data-label": "Group" }, keyLabel(row.key, false)),
          h("td", { class: "num", "data-label": "Cost", title: exactMoneyText(row.cost) }, moneyElement(row.cost, context.locale)),
          h("td", { class: "num", "data-label": "Records" }, countText(row.recordCount, context.locale)),
        ),
      ),
    ),
  );
  return h("details", { class: "chart-table" }, h("summary", {}, "Show the numbers as a table"), h("div", { class: "table-wrap" }, table));
}

function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** The chart's text and grid colours, read from the stylesheet so they follow the colour scheme. */
function themeColors(): { text: string; grid: string; muted: string } {
  const style = getComputedStyle(document.documentElement);
  const read = (name: string, fallback: string): string => style.getPropertyValue(name).trim() || fallback;
  return { text: read("--text-muted", "#555"), grid: read("--grid", "#ddd"), muted: read("--other-series", "#999") };
}
