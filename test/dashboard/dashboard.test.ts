import { mkdirSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Locator, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod } from "../../gen/dreamnet/cost/v1/budget_pb.js";
import { AlertState } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { CostDimension, SeriesGranularity } from "../../gen/dreamnet/cost/v1/cost_summary_pb.js";
import type { Money } from "../../gen/dreamnet/cost/v1/money_pb.js";
import { timestampFromMs } from "../../src/api/time-mapping.js";
import { createKeyRing, generateKey } from "../../src/api/auth/api-keys.js";
import { createCostClient, type CostClient } from "../../src/client/index.js";
import { costRecord, money } from "../support/records.js";
import {
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  SCREENSHOT_DIR,
  decimalOf,
  hasChromium,
  seedBudgets,
  seedCosts,
  startDashboardServer,
  usText,
  type DashboardServer,
} from "./dashboard-fixtures.js";

if (!hasChromium) {
  console.warn(`test/dashboard/dashboard.test.ts: ${CHROMIUM_PATH} is missing, so the dashboard's browser suite is SKIPPED (install it: apt-get install -y chromium)`);
}

const DAY = 86_400_000;
/** A reader in Paris with an en-US browser: day buckets follow a zone other than UTC, numbers a known locale. */
const READER: BrowserContextOptions = { locale: "en-US", timezoneId: "Europe/Paris", reducedMotion: "reduce", viewport: { width: 1280, height: 900 } };

/** How an en-US reader sees a percentage such as 275.2. */
const percentUs = (percent: number): string => new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 2 }).format(percent / 100);

/** The exact decimal and the text of an amount the page shows. */
async function shown(locator: Locator): Promise<{ exact: string | null; text: string }> {
  return { exact: await locator.getAttribute("data-exact"), text: ((await locator.textContent()) ?? "").trim() };
}

/** What a wire amount should look like on the page. */
const expected = (value: Money | undefined) => ({ exact: decimalOf(value), text: usText(value) });

/** A page of the dashboard with its console watched: errors (a CSP refusal, say) fail the test. */
interface OpenPage {
  readonly page: Page;
  readonly context: BrowserContext;
  readonly problems: string[];
}

describe.skipIf(!hasChromium)("the dashboard in Chromium", () => {
  let browser: Browser;
  let env: DashboardServer;
  let client: CostClient;
  let open: OpenPage | undefined;
  /** Console errors a suite expects, e.g. the browser's own line for each 401 answer. */
  let expectedConsole: RegExp | undefined;

  /** Opens the dashboard in a new context; waits for the live feed unless told not to. */
  async function openDashboard(options: BrowserContextOptions = {}, waitForLive = true): Promise<OpenPage> {
    const context = await browser.newContext({ ...READER, ...options });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (message) => {
      if ((message.type() === "error" || message.type() === "warning") && !expectedConsole?.test(message.text())) problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    open = { page, context, problems };
    await page.goto(env.url);
    if (waitForLive) await page.locator("#live-status[data-state='live']").waitFor();
    return open;
  }

  beforeAll(async () => {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  });
  afterEach(async () => {
    const problems = open?.problems ?? [];
    await open?.context.close();
    open = undefined;
    expect(problems, "console errors and warnings").toEqual([]);
  });
  afterAll(async () => {
    await browser?.close();
  });

  describe("in development mode (no API keys)", () => {
    beforeAll(async () => {
      env = await startDashboardServer();
      client = createCostClient({ baseUrl: env.url, protocol: "grpc" });
    });
    afterAll(async () => {
      await env?.close();
    });

    it("says plainly that nothing is recorded yet", async () => {
      const { page } = await openDashboard();

      await expect.poll(() => page.locator("#overview .state--empty").textContent()).toContain("No costs recorded yet.");
      await expect.poll(() => page.locator("#alerts .state--empty").textContent()).toContain("No active alerts.");
      await expect.poll(() => page.locator("#budgets .state--empty").textContent()).toContain("No budgets set.");
      await expect.poll(() => page.locator("#spend .state--empty").textContent()).toContain("No costs recorded in this range.");
      await expect.poll(() => page.locator("#breakdown .state--empty").textContent()).toContain("No costs recorded in the last 30 days.");
      await page.screenshot({ path: `${SCREENSHOT_DIR}/empty.png`, fullPage: true });
    });

    describe("with costs in two clusters and three currencies, two budgets and their alerts", () => {
      beforeAll(async () => {
        await seedCosts(client, Date.now());
        await seedBudgets(client);
      });

      it("shows each cluster's rolling windows exactly as ListCostSummaries reports them", async () => {
        const { page } = await openDashboard();
        await page.locator("#overview tbody tr").first().waitFor();
        const { summaries } = await client.listCostSummaries({});
        expect(summaries.map((s) => s.clusterId)).toEqual(["API_KEEPER", "SEARCH"]);

        for (const summary of summaries) {
          for (const line of summary.currencies) {
            const row = page.locator(`#overview tbody tr[data-cluster="${summary.clusterId}"][data-currency="${line.currencyCode}"]`);
            const windows = { "Last 24 h": line.costToday, "Last 7 days": line.costThisWeek, "Last 30 days": line.costThisMonth, "All time": line.totalCost };
            for (const [label, value] of Object.entries(windows)) {
              expect(await shown(row.locator(`td[data-window="${label}"] .money`)), `${summary.clusterId} ${line.currencyCode} ${label}`).toEqual(expected(value));
            }
            expect((await row.locator('td[data-label="Records"]').textContent())?.trim()).toBe(line.recordCount.toLocaleString("en-US"));
          }
        }
        // Nano digits survive: 0.002 + 1.25 + 3.5 + 10.000000001 + 1.5 USD.
        expect((await page.locator('#overview tbody tr[data-cluster="API_KEEPER"][data-currency="USD"] td[data-window="All time"]').textContent())?.trim()).toBe("$16.252000001");
        // Totals over clusters are exact sums per currency; yen have no minor unit.
        expect((await page.locator('#overview .tile[data-currency="USD"] dd').last().textContent())?.trim()).toBe("$17.335333334");
        expect((await page.locator('#overview .tile[data-currency="JPY"] .tile-value').textContent())?.trim()).toBe("¥150");
      });

      it("draws spend over time from GetCostSeries, with the same numbers in its table", async () => {
        const { page } = await openDashboard();
        const spend = page.locator("#spend");
        await spend.locator("canvas").waitFor();
        const box = await spend.locator("canvas").boundingBox();
        expect(box?.height ?? 0).toBeGreaterThan(150);

        await page.getByLabel("Buckets", { exact: true }).selectOption("day");
        await page.getByLabel("Split by", { exact: true }).selectOption("model");
        await page.getByLabel("Currency", { exact: true }).selectOption("USD");
        await spend.getByText("Show the numbers as a table").click();

        const { points } = await client.getCostSeries({
          granularity: SeriesGranularity.DAY,
          splitBy: CostDimension.MODEL,
          timeZone: "Europe/Paris",
          startTime: timestampFromMs(Date.now() - 29 * DAY),
        });
        const usd = points.filter((p) => p.cost?.currencyCode === "USD");
        const api = usd.map((p) => ({
          at: new Date(Number(p.bucketStartTime?.seconds ?? 0n) * 1000).toISOString(),
          group: p.key === "" ? "(no model)" : p.key,
          exact: decimalOf(p.cost),
        }));
        const rowsShown = async () =>
          spend.locator("tbody tr").evaluateAll((rows) =>
            rows.map((row) => ({
              at: row.querySelector("time")?.getAttribute("datetime") ?? "",
              group: row.querySelectorAll("td")[1]?.textContent ?? "",
              exact: row.querySelector(".money")?.getAttribute("data-exact") ?? "",
            })),
          );
        const byAt = (a: { at: string; group: string }, b: { at: string; group: string }) => a.at.localeCompare(b.at) || a.group.localeCompare(b.group);
        await expect.poll(async () => (await rowsShown()).sort(byAt)).toEqual(api.sort(byAt));
        expect(api.some((p) => p.group === "(no model)")).toBe(true);

        const total = usd.reduce((sum, p) => sum + (p.cost?.units ?? 0n) * 1_000_000_000n + BigInt(p.cost?.nanos ?? 0), 0n);
        expect(await shown(spend.locator("figcaption .money"))).toEqual(expected(money(total / 1_000_000_000n, Number(total % 1_000_000_000n), "USD")));

        // Another currency is another chart; currencies are never stacked together.
        await page.getByLabel("Currency", { exact: true }).selectOption("EUR");
        await expect.poll(() => spend.locator("tbody tr .money").allTextContents()).toEqual(["€2.50"]);
      });

      it("shows the breakdown as GetCostBreakdown reports it, with exact totals per currency", async () => {
        const { page } = await openDashboard();
        const breakdown = page.locator("#breakdown");
        for (const [choice, dimension] of [["provider", CostDimension.PROVIDER], ["operation", CostDimension.OPERATION]] as const) {
          await page.getByLabel("Group by", { exact: true }).selectOption(choice);
          const { entries } = await client.getCostBreakdown({ dimension, startTime: timestampFromMs(Date.now() - 30 * DAY) });
          const api = entries.map((e) => ({ key: e.key, currency: e.cost?.currencyCode ?? "", exact: decimalOf(e.cost), records: e.recordCount.toString() }));
          await expect
            .poll(() =>
              breakdown.locator("tbody tr[data-key]").evaluateAll((rows) =>
                rows.map((row) => ({
                  key: row.getAttribute("data-key") ?? "",
                  currency: row.getAttribute("data-currency") ?? "",
                  exact: row.querySelector(".money")?.getAttribute("data-exact") ?? "",
                  records: row.querySelector('[data-label="Records"]')?.textContent ?? "",
                })),
              ),
            )
            .toEqual(api);
        }
        // 3.502 + 3.5 + 0.333333333 USD in the last 30 days (the 40-day-old record is out).
        expect((await breakdown.locator('tr.total-row[data-currency="USD"] .money').textContent())?.trim()).toBe("$7.335333333");
      });

      it("shows each budget's period: spent, amount, percent, when it resets and the forecast", async () => {
        const { page } = await openDashboard();
        await page.locator("#budgets li.budget").first().waitFor();
        const { budgets } = await client.listBudgets({});
        expect(budgets.map((b) => b.id)).toEqual(["api-keeper-daily", "search-weekly"]);

        for (const budget of budgets) {
          const { status } = await client.getBudgetStatus({ budgetId: budget.id });
          const item = page.locator(`#budgets li[data-budget-id="${budget.id}"]`);
          const amounts = item.locator(".budget-spent .money");
          expect(await shown(amounts.nth(0)), `${budget.id} spent`).toEqual(expected(status?.spent));
          expect(await shown(amounts.nth(1)), `${budget.id} amount`).toEqual(expected(budget.amount));
          expect((await item.locator(".percent").textContent())?.trim()).toBe(percentUs(status?.percentUsed ?? NaN));
          const bar = item.getByRole("progressbar");
          expect(await bar.getAttribute("aria-valuenow")).toBe(String(Math.min(100, status?.percentUsed ?? NaN)));
          const endSeconds = Number(status?.periodEndTime?.seconds ?? 0n);
          expect(await item.locator('[data-fact="Resets"] time').getAttribute("datetime")).toBe(new Date(endSeconds * 1000).toISOString());
          // The forecast moves with the clock (burn rate so far); it must be there when the API has one, in the budget's currency.
          if (status?.forecast) {
            const forecast = item.locator('[data-fact="Forecast"] .money');
            expect(await forecast.getAttribute("data-currency")).toBe(budget.amount?.currencyCode);
            expect(Number(await forecast.getAttribute("data-exact"))).toBeCloseTo(Number(decimalOf(status.forecast)), 2);
          } else {
            expect(await item.locator('[data-fact="Forecast"]').textContent()).toContain("too early");
          }
        }
        // 1.5 USD a second ago, 0.002 ten minutes and 1.25 two hours ago, the last two only if the UTC
        // day had begun then (the seed is stamped from the wall clock, like the browser's): over 1 USD by the rest.
        const spent = (await client.getBudgetStatus({ budgetId: "api-keeper-daily" })).status?.spent;
        expect(["1.5", "1.502", "2.752"]).toContain(decimalOf(spent));
        const overBy = money(Number(spent?.units ?? 0n) - 1, spent?.nanos ?? 0, "USD");
        const daily = page.locator('#budgets li[data-budget-id="api-keeper-daily"]');
        expect(await daily.getAttribute("data-level")).toBe("over");
        expect((await daily.locator('[data-fact="Over by"] dd').textContent())?.trim()).toBe(usText(overBy));
      });

      it("acknowledges an alert from the keyboard; ListAlerts then reports it acknowledged", async () => {
        const { page } = await openDashboard();
        const { alerts } = await client.listAlerts({ state: AlertState.ACTIVE });
        expect(alerts).toHaveLength(3);
        const items = page.locator("#alerts li[data-alert-id]");
        await expect.poll(() => items.evaluateAll((els) => els.map((el) => el.getAttribute("data-alert-id")).sort())).toEqual(alerts.map((a) => a.id).sort());
        expect((await page.locator("#alert-count").textContent())?.trim()).toBe("(3)");

        // Tab from the top of the page to the first Acknowledge button: every control on the way is a real, focusable one.
        let focused = "";
        for (let presses = 0; presses < 12 && focused !== "Acknowledge"; presses++) {
          await page.keyboard.press("Tab");
          focused = await page.evaluate("document.activeElement ? document.activeElement.textContent.trim() : ''");
        }
        expect(focused).toBe("Acknowledge");
        expect(await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")).toBe("solid");
        const alertId = await page.evaluate("document.activeElement.closest('li').dataset.alertId");
        await page.keyboard.press("Enter");

        await expect.poll(() => page.locator(`#alerts li[data-alert-id="${String(alertId)}"]`).count()).toBe(0);
        expect((await page.locator("#alert-count").textContent())?.trim()).toBe("(2)");
        expect(await page.locator("#announcer").textContent()).toContain("Alert acknowledged");
        // Focus moves on to the next alert's button rather than getting lost.
        expect(await page.evaluate("document.activeElement.textContent.trim()")).toBe("Acknowledge");

        const after = await client.listAlerts({ state: AlertState.ACKNOWLEDGED });
        expect(after.alerts.map((a) => ({ id: a.id, acknowledged: a.acknowledged, by: a.acknowledgedBy }))).toEqual([{ id: String(alertId), acknowledged: true, by: "anonymous" }]);
      });

      it("shows an alert raised through the API as it happens, without a reload", async () => {
        const { page } = await openDashboard();
        await page.evaluate("window.loadedOnce = true");
        await page.locator("#alerts li[data-alert-id]").first().waitFor();

        // 150 JPY spent today against a 100 JPY daily budget: EXCEEDED at once.
        await client.setBudget({ budget: { id: "search-daily-jpy", clusterId: "SEARCH", amount: money(100, 0, "JPY"), period: BudgetPeriod.DAILY } });
        const { alerts } = await client.listAlerts({ state: AlertState.ACTIVE });
        const raised = alerts.find((a) => a.budgetId === "search-daily-jpy");
        expect(raised).toBeDefined();

        const item = page.locator(`#alerts li[data-alert-id="${raised?.id ?? ""}"]`);
        await item.waitFor();
        expect(await item.locator(".badge--new").textContent()).toBe("New");
        expect(await shown(item.locator(".alert-detail .money").first())).toEqual(expected(raised?.currentCost));
        expect(await page.locator("#announcer").textContent()).toContain("New alert: Budget exceeded, budget search-daily-jpy in SEARCH.");
        // The budgets refresh after an alert, still without a reload.
        await page.locator('#budgets li[data-budget-id="search-daily-jpy"]').waitFor();
        expect(await page.evaluate("window.loadedOnce")).toBe(true);
      });

      it("resumes the alert stream from the last cursor after a drop and after resume_required", async () => {
        // A real cursor of this feed: the event of an alert raised while the test watches.
        // Pages of earlier tests are closed; once their streams are gone, the next watcher is this one.
        await expect.poll(() => env.core.feed.watchers).toBe(0);
        const watching = new AbortController();
        const stream = client.watchAlerts({}, { signal: watching.signal })[Symbol.asyncIterator]();
        const firstMessage = stream.next();
        // The server follows the feed for this call from now on.
        await expect.poll(() => env.core.feed.watchers).toBe(1);
        await client.recordCost({ record: costRecord({ clusterId: "SEARCH", cost: money(0, 200_000_000, "EUR"), atMs: Date.now() - 1_000 }) });
        await client.setBudget({ budget: { id: "search-daily-eur", clusterId: "SEARCH", amount: money(0, 100_000_000, "EUR"), period: BudgetPeriod.DAILY } });
        let first = await firstMessage;
        // Every stream opens with a heartbeat carrying its starting position.
        while (!first.done && first.value.message.case === "heartbeat") first = await stream.next();
        watching.abort();
        const cursor = !first.done && first.value.message.case === "event" ? first.value.message.value.cursor : "";
        expect(cursor).not.toBe("");

        // The page's first two WatchAlerts calls are answered here: a heartbeat then a cut
        // connection (no end of stream), then resume_required. The third reaches the server.
        const context = await browser.newContext(READER);
        const bodies: unknown[] = [];
        let calls = 0;
        await context.route("**/dreamnet.cost.v1.CostService/WatchAlerts", async (route) => {
          // A streaming request body is one enveloped message: 5 bytes of flags and length, then the JSON.
          bodies.push(JSON.parse((route.request().postDataBuffer() ?? Buffer.from("00000{}")).subarray(5).toString("utf8")));
          calls++;
          if (calls === 1) return route.fulfill({ status: 200, contentType: "application/connect+json", body: connectStream([{ heartbeat: { cursor } }]) });
          if (calls === 2) return route.fulfill({ status: 200, contentType: "application/connect+json", body: connectStream([{ resumeRequired: { resumeAfter: cursor, reason: "watcher too slow" } }], true) });
          return route.continue();
        });
        const page = await context.newPage();
        const problems: string[] = [];
        page.on("pageerror", (error) => problems.push(error.message));
        open = { page, context, problems };
        await page.goto(env.url);
        await expect.poll(() => calls, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
        await page.locator("#live-status[data-state='live']").waitFor();

        expect(bodies.slice(0, 3)).toEqual([{ includeActive: true }, { resumeAfter: cursor }, { resumeAfter: cursor }]);

        // The resumed stream is live: a new alert shows up.
        await client.recordCost({ record: costRecord({ clusterId: "API_KEEPER", cost: money(1, 0, "EUR"), atMs: Date.now() - 1_000 }) });
        await client.setBudget({ budget: { id: "api-keeper-daily-eur", clusterId: "API_KEEPER", amount: money(0, 500_000_000, "EUR"), period: BudgetPeriod.DAILY } });
        const { alerts } = await client.listAlerts({ state: AlertState.ACTIVE });
        const raised = alerts.find((a) => a.budgetId === "api-keeper-daily-eur");
        await page.locator(`#alerts li[data-alert-id="${raised?.id ?? "?"}"] .badge--new`).waitFor();
      });

      it("fits a 375 px wide screen without scrolling sideways", async () => {
        const { page } = await openDashboard({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
        await page.locator("#spend canvas").waitFor();
        await page.locator("#breakdown tbody tr").first().waitFor();

        expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(375);
        // Every panel stays inside the viewport too (no content cut off at the right edge).
        const widest = await page.locator("main > section").evaluateAll((sections) => Math.max(...sections.map((s) => s.getBoundingClientRect().right)));
        expect(widest).toBeLessThanOrEqual(375);
        // Tables turn into cards: no header row to read sideways.
        expect(await page.locator("#overview thead").evaluate((thead) => thead.getBoundingClientRect().height)).toBeLessThanOrEqual(1);
        await page.screenshot({ path: `${SCREENSHOT_DIR}/narrow-375.png`, fullPage: true });
      });

      it("renders the whole page on a desktop screen, light and dark", async () => {
        for (const colorScheme of ["light", "dark"] as const) {
          const { page, context, problems } = await openDashboard({ colorScheme });
          await page.locator("#spend canvas").waitFor();
          await page.locator("#breakdown tbody tr").first().waitFor();
          await page.locator("#budgets li.budget").first().waitFor();
          expect(await page.evaluate("getComputedStyle(document.body).backgroundColor")).toBe(colorScheme === "dark" ? "rgb(15, 20, 26)" : "rgb(244, 246, 249)");
          await page.screenshot({ path: `${SCREENSHOT_DIR}/desktop-${colorScheme}.png`, fullPage: true });
          if (colorScheme === "light") {
            expect(problems).toEqual([]);
            await context.close();
          }
        }
      });
    });
  });

  describe("with API keys", () => {
    const admin = generateKey("ops", ["admin"]);
    const viewer = generateKey("viewer", ["costs:read", "alerts:read"]);

    beforeAll(async () => {
      env = await startDashboardServer(createKeyRing([admin.entry, viewer.entry]));
      client = createCostClient({ baseUrl: env.url, protocol: "grpc", apiKey: admin.key });
      await client.recordCost({ record: costRecord({ clusterId: "API_KEEPER", cost: money(2, 0, "USD"), atMs: Date.now() - 1_000 }) });
      await client.setBudget({ budget: { id: "api-keeper-daily", clusterId: "API_KEEPER", amount: money(1, 0, "USD"), period: BudgetPeriod.DAILY } });
      // Chromium logs every 401 and 403 answer; the page shows them properly.
      expectedConsole = /Failed to load resource: the server responded with a status of 40[13]/;
    });
    afterAll(async () => {
      expectedConsole = undefined;
      await env?.close();
    });

    it("asks for a key when a call is answered UNAUTHENTICATED, and sends the key entered as a bearer token", async () => {
      const { page } = await openDashboard({}, false);
      const dialog = page.getByRole("dialog", { name: "API key" });
      await dialog.waitFor();
      expect(await page.locator("#key-reason").textContent()).toContain("missing API key");
      await expect.poll(() => page.locator("#overview .state--error .code").textContent()).toBe("UNAUTHENTICATED");
      await expect.poll(() => page.locator("#live-status .text").textContent()).toBe("Live alerts off: UNAUTHENTICATED");
      await page.screenshot({ path: `${SCREENSHOT_DIR}/api-key-form.png` });

      // The field has focus: type a wrong key and press Enter.
      await page.keyboard.type("ops.not-the-secret");
      await page.keyboard.press("Enter");
      await expect.poll(() => page.locator("#key-reason").textContent()).toContain("API key not recognised");
      expect(await dialog.isVisible()).toBe(true);

      const sent = page.waitForRequest((request) => request.url().endsWith("/ListCostSummaries"));
      await dialog.getByRole("textbox", { name: "API key" }).fill(admin.key);
      await dialog.getByRole("button", { name: "Use this key" }).click();
      expect((await sent).headers().authorization).toBe(`Bearer ${admin.key}`);
      await page.locator('#overview tbody tr[data-cluster="API_KEEPER"]').waitFor();
      await page.locator("#live-status[data-state='live']").waitFor();
      expect(await dialog.isVisible()).toBe(false);
      expect(await page.evaluate("sessionStorage.getItem('cost-core.api-key')")).toBe(admin.key);

      // Kept for the tab: a reload does not ask again.
      await page.reload();
      await page.locator('#overview tbody tr[data-cluster="API_KEEPER"]').waitFor();
      expect(await dialog.isVisible()).toBe(false);
    });

    it("shows the gRPC code and the missing scope when a key may not read budgets or acknowledge alerts", async () => {
      const context = await browser.newContext(READER);
      await context.addInitScript(`sessionStorage.setItem("cost-core.api-key", ${JSON.stringify(viewer.key)})`);
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(error.message));
      open = { page, context, problems };
      await page.goto(env.url);

      const budgetsError = page.locator("#budgets .state--error");
      await budgetsError.waitFor();
      expect(await budgetsError.locator(".code").textContent()).toBe("PERMISSION_DENIED");
      expect(await budgetsError.textContent()).toContain('API key "viewer" lacks the scope budgets:read that ListBudgets needs');

      const item = page.locator("#alerts li[data-alert-id]").first();
      await item.getByRole("button", { name: "Acknowledge" }).click();
      await expect.poll(() => item.locator(".state--error .code").textContent()).toBe("PERMISSION_DENIED");
      expect(await item.locator(".state--error").textContent()).toContain("alerts:ack");
      expect((await client.listAlerts({ state: AlertState.ACTIVE })).alerts).toHaveLength(1);
      await page.screenshot({ path: `${SCREENSHOT_DIR}/permission-denied.png`, fullPage: true });
    });
  });
});

/** A Connect server-stream body: length-prefixed JSON messages, then (unless cut) the end-of-stream message. */
function connectStream(messages: readonly unknown[], withEnd = false): Buffer {
  const frame = (flags: number, json: unknown): Buffer => {
    const payload = Buffer.from(JSON.stringify(json));
    const head = Buffer.alloc(5);
    head.writeUInt8(flags, 0);
    head.writeUInt32BE(payload.length, 1);
    return Buffer.concat([head, payload]);
  };
  return Buffer.concat([...messages.map((m) => frame(0, m)), ...(withEnd ? [frame(0b10, {})] : [])]);
}
