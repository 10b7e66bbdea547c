import { AlertKind, type AlertEvent, type CostAlert } from "../../../gen/dreamnet/cost/v1/alert_pb.js";
import { AlertState } from "../../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { createActiveAlerts, type AlertChange } from "./active-alerts.js";
import { h } from "./dom.js";
import { moneyFromWire } from "./money-text.js";
import { periodName } from "./period-text.js";
import { failureBlock, showContent, showEmpty, showFailure, showLoading } from "./panel-state.js";
import { rpcFailureOf, type RpcFailure } from "./rpc-failure.js";
import { dateTimeText, isoText, msOf, relativeText } from "./time-text.js";
import { moneyElement, percentText, type ViewContext } from "./view-context.js";

/** Most active alerts the page lists (pages of 500). */
const MAX_ALERTS = 2_000;

/** The active alerts: listed with ListAlerts, kept current by WatchAlerts, acknowledged with AcknowledgeAlert. */
export function createAlertsView(context: ViewContext, body: HTMLElement, count: HTMLElement, heading: HTMLElement) {
  const alerts = createActiveAlerts();
  let listed = false;
  let failure: RpcFailure | undefined;
  /** Failed acknowledgments, shown under their alert until it is tried again. */
  const ackErrors = new Map<string, RpcFailure>();
  const pending = new Set<string>();

  function render(focusIndex?: number): void {
    const list = alerts.list();
    // A re-render (a refresh, a live alert) must not take focus away from the button the reader is on.
    const focusedId = document.activeElement instanceof HTMLElement && body.contains(document.activeElement) ? document.activeElement.closest("li")?.dataset.alertId : undefined;
    count.textContent = listed || list.length > 0 ? `(${list.length})` : "";
    if (!listed && failure) {
      showFailure(body, "Could not load the alerts.", failure);
      return;
    }
    if (list.length === 0) {
      if (listed) showEmpty(body, "No active alerts.", "Alerts appear here, live, when spend reaches a budget's threshold or amount.");
      if (focusIndex !== undefined) heading.focus();
      return;
    }
    showContent(body, h("ul", { class: "alert-list" }, list.map(alertItem)));
    const buttons = body.querySelectorAll<HTMLButtonElement>("button.ack");
    if (focusIndex !== undefined) {
      (buttons[Math.min(focusIndex, buttons.length - 1)] ?? heading).focus();
    } else if (focusedId !== undefined) {
      Array.from(buttons).find((b) => b.closest("li")?.dataset.alertId === focusedId)?.focus();
    }
  }

  function alertItem(alert: CostAlert): HTMLElement {
    const titleId = `alert-title-${alert.id}`;
    const isNew = alerts.isLive(alert.id);
    const kind = kindOf(alert.kind);
    const error = ackErrors.get(alert.id);
    const raisedMs = msOf(alert.triggerTime);
    const button = h("button", { type: "button", class: "ack", "aria-describedby": titleId, disabled: pending.has(alert.id) }, pending.has(alert.id) ? "Acknowledging…" : "Acknowledge");
    button.addEventListener("click", () => void acknowledge(alert));
    return h(
      "li",
      { class: `alert-item alert-item--${kind.tone}${isNew ? " alert-item--new" : ""}`, "data-alert-id": alert.id, "data-kind": kind.tone },
      h(
        "div",
        { class: "alert-main" },
        h(
          "p",
          { class: "alert-title", id: titleId },
          h("span", { class: `badge badge--${kind.tone}` }, kind.label(alert, context.locale)),
          h("strong", {}, alert.budgetId),
          isNew ? h("span", { class: "badge badge--new" }, "New") : null,
        ),
        h("p", { class: "alert-detail" }, detail(alert, context.locale)),
        h(
          "p",
          { class: "muted small" },
          `${alert.clusterId} · ${periodName(alert.period).toLowerCase()} period · raised `,
          raisedMs === undefined ? "at an unknown time" : h("time", { datetime: isoText(raisedMs), title: dateTimeText(raisedMs, context.locale) }, relativeText(raisedMs, context.now(), context.locale)),
        ),
        error ? failureBlock("Could not acknowledge this alert.", error) : null,
      ),
      button,
    );
  }

  async function acknowledge(alert: CostAlert): Promise<void> {
    const index = alerts.list().findIndex((a) => a.id === alert.id);
    pending.add(alert.id);
    ackErrors.delete(alert.id);
    render();
    try {
      const response = await context.client.acknowledgeAlert({ alertId: alert.id });
      pending.delete(alert.id);
      alerts.applyAcknowledged(response.alert ?? alert, context.now());
      context.announce(`Alert acknowledged: ${kindOf(alert.kind).label(alert, context.locale)}, budget ${alert.budgetId}.`);
      render(index);
    } catch (error) {
      pending.delete(alert.id);
      const failed = rpcFailureOf(error);
      context.failed(failed);
      ackErrors.set(alert.id, failed);
      render(index);
    }
  }

  return {
    /** Lists the active alerts (all pages) and shows them. */
    async load(): Promise<void> {
      if (!listed) showLoading(body);
      const askedAtMs = context.now();
      try {
        const all: CostAlert[] = [];
        let pageToken = "";
        do {
          const page = await context.client.listAlerts({ state: AlertState.ACTIVE, pageSize: 500, pageToken });
          all.push(...page.alerts);
          pageToken = page.nextPageToken;
        } while (pageToken !== "" && all.length < MAX_ALERTS);
        alerts.replaceFromList(all, askedAtMs);
        listed = true;
        failure = undefined;
      } catch (error) {
        failure = rpcFailureOf(error);
        context.failed(failure);
        listed = false;
      }
      body.removeAttribute("aria-busy");
      render();
    },
    /** An active alert from the stream's snapshot. */
    applyActive(alert: CostAlert): void {
      if (alerts.applyActive(alert, context.now()) !== "unchanged") render();
    },
    /** An event from the stream; new alerts are announced. */
    applyEvent(event: AlertEvent): AlertChange {
      const change = alerts.applyEvent(event, context.now());
      if (change === "added" && event.alert) {
        context.announce(`New alert: ${kindOf(event.alert.kind).label(event.alert, context.locale)}, budget ${event.alert.budgetId} in ${event.alert.clusterId}.`);
      }
      if (change !== "unchanged") render();
      return change;
    },
  };
}

interface KindInfo {
  readonly tone: "threshold" | "exceeded" | "forecast" | "other";
  label(alert: CostAlert, locale: string | undefined): string;
}

function kindOf(kind: AlertKind): KindInfo {
  switch (kind) {
    case AlertKind.THRESHOLD:
      return { tone: "threshold", label: (a, locale) => `Reached ${percentText(a.thresholdPercent, locale)}` };
    case AlertKind.EXCEEDED:
      return { tone: "exceeded", label: () => "Budget exceeded" };
    case AlertKind.FORECAST:
      return { tone: "forecast", label: () => "Forecast over budget" };
    default:
      return { tone: "other", label: () => "Alert" };
  }
}

function detail(alert: CostAlert, locale: string | undefined): (Node | string)[] {
  const current = moneyElement(moneyFromWire(alert.currentCost), locale);
  const threshold = moneyElement(moneyFromWire(alert.threshold), locale);
  const percent = percentText(alert.percent, locale);
  switch (alert.kind) {
    case AlertKind.FORECAST:
      return ["Projected ", current, ` (${percent}) by the period's end; budget `, threshold];
    case AlertKind.EXCEEDED:
      return ["Spent ", current, ` (${percent}) of a budget of `, threshold];
    default:
      return ["Spent ", current, ` (${percent}); the ${percentText(alert.thresholdPercent, locale)} mark is `, threshold];
  }
}
