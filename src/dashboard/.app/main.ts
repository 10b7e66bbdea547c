import { createAlertsView } from "./alerts-view.js";
import { runAlertWatch, type WatchState } from "./alert-watch.js";
import { createApiKeyStore } from "./api-key-store.js";
import { createBreakdownView } from "./breakdown-view.js";
import { createBudgetsView } from "./budgets-view.js";
import { createDashboardClient } from "./dashboard-client.js";
import { byId, within } from "./dom.js";
import { createKeyDialog } from "./key-dialog.js";
import { createOverviewView } from "./overview-view.js";
import { createSpendView } from "./spend-view.js";
import type { RpcFailure } from "./rpc-failure.js";
import type { ViewContext } from "./view-context.js";

/** How often the numbers refresh on their own while the tab is visible. */
const AUTO_REFRESH_MS = 60_000;
/** Wait after an alert event before refreshing budgets and totals, so a burst of alerts costs one refresh. */
const AFTER_ALERT_REFRESH_MS = 1_000;

/** Builds the dashboard on the page index.html describes and starts it. */
function startDashboard(): void {
  const keys = createApiKeyStore(sessionStorageOrUndefined());
  const client = createDashboardClient(location.origin, () => keys.get());
  const locale = navigator.language || undefined;
  const announcer = byId("announcer", HTMLElement);
  const updated = byId("updated", HTMLElement);
  const liveStatus = byId("live-status", HTMLElement);

  let refreshing: Promise<void> | undefined;
  let keyAskedThisRound = false;
  const keyDialog = createKeyDialog(keys, () => {
    void refreshAll();
    restartWatch();
  });

  const context: ViewContext = {
    client,
    locale,
    now: () => Date.now(),
    failed(failure: RpcFailure) {
      // Several views fail at once without a key: ask once per refresh.
      if (failure.unauthenticated && !keyAskedThisRound) {
        keyAskedThisRound = true;
        keyDialog.open(failure.message);
      }
    },
    announce(text) {
      announcer.textContent = text;
    },
  };

  const section = (id: string): HTMLElement => within(byId(id, HTMLElement), ".panel-body", HTMLElement);
  const overview = createOverviewView(context, section("overview"));
  const alerts = createAlertsView(context, section("alerts"), byId("alert-count", HTMLElement), byId("alerts-title", HTMLElement));
  const budgets = createBudgetsView(context, section("budgets"));
  const spend = createSpendView(context, section("spend"), {
    cluster: byId("spend-cluster", HTMLSelectElement),
    granularity: byId("spend-granularity", HTMLSelectElement),
    split: byId("spend-split", HTMLSelectElement),
    currency: byId("spend-currency", HTMLSelectElement),
  });
  const breakdown = createBreakdownView(context, section("breakdown"), {
    cluster: byId("breakdown-cluster", HTMLSelectElement),
    dimension: byId("breakdown-dimension", HTMLSelectElement),
    range: byId("breakdown-range", HTMLSelectElement),
  });
  byId("alerts-title", HTMLElement).tabIndex = -1;
  for (const form of [byId("spend-controls", HTMLFormElement), byId("breakdown-controls", HTMLFormElement)]) {
    form.addEventListener("submit", (event) => event.preventDefault());
  }

  /** Reloads every view; asked again while it runs (a new key, say), it runs once more after. */
  let again = false;
  function refreshAll(): Promise<void> {
    if (refreshing) {
      again = true;
      return refreshing;
    }
    keyAskedThisRound = false;
    refreshing = (async () => {
      const [clusters] = await Promise.all([overview.load(), alerts.load(), budgets.load()]);
      if (clusters.length > 0) {
        spend.setClusters(clusters);
        breakdown.setClusters(clusters);
      }
      await Promise.all([spend.load(), breakdown.load()]);
      updated.textContent = `Updated ${new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(Date.now())}`;
    })().finally(() => {
      refreshing = undefined;
      if (again) {
        again = false;
        void refreshAll();
      }
    });
    return refreshing;
  }

  let afterAlertTimer: ReturnType<typeof setTimeout> | undefined;
  const refreshAfterAlert = (): void => {
    clearTimeout(afterAlertTimer);
    afterAlertTimer = setTimeout(() => void Promise.all([overview.load(), budgets.load()]), AFTER_ALERT_REFRESH_MS);
  };

  let watch: AbortController | undefined;
  function restartWatch(): void {
    watch?.abort();
    const controller = new AbortController();
    watch = controller;
    void runAlertWatch({
      signal: controller.signal,
      open: (request, signal, onOpen) => client.watchAlerts(request, { signal, onHeader: onOpen }),
      onActive: (alert) => alerts.applyActive(alert),
      onResync: () => void alerts.load(),
      onEvent: (event) => {
        if (alerts.applyEvent(event) === "added") refreshAfterAlert();
      },
      onState: (state) => {
        if (!controller.signal.aborted) showWatchState(liveStatus, state);
      },
    });
  }

  byId("refresh-button", HTMLButtonElement).addEventListener("click", () => void refreshAll());
  byId("key-button", HTMLButtonElement).addEventListener("click", () => keyDialog.open());
  setInterval(() => {
    if (document.visibilityState === "visible" && !keyDialog.isOpen) void refreshAll();
  }, AUTO_REFRESH_MS);

  void refreshAll();
  restartWatch();
}

function showWatchState(element: HTMLElement, state: WatchState): void {
  const text = within(element, ".text", HTMLElement);
  element.dataset.state = state.kind;
  element.title = "";
  switch (state.kind) {
    case "connecting":
      text.textContent = "Connecting to live alerts…";
      return;
    case "live":
      text.textContent = "Live";
      return;
    case "retrying":
      text.textContent = state.inMs > 0 ? `Reconnecting in ${Math.ceil(state.inMs / 1000)} s` : "Reconnecting…";
      element.title = state.reason;
      return;
    case "stopped":
      text.textContent = `Live alerts off: ${state.failure.code}`;
      element.title = state.failure.message;
      return;
  }
}

function sessionStorageOrUndefined(): Storage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined;
  }
}

startDashboard();
