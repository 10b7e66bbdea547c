import { existsSync } from "node:fs";
import { BudgetPeriod } from "../../gen/dreamnet/cost/v1/budget_pb.js";
import type { Money } from "../../gen/dreamnet/cost/v1/money_pb.js";
import type { KeyRing } from "../../src/api/auth/api-keys.js";
import type { CostClient } from "../../src/client/index.js";
import { createCostCore, type CostCore } from "../../src/core/cost-core.js";
import { systemClock } from "../../src/domain/time.js";
import { createSilentLogger } from "../../src/logger.js";
import { startServer, type RunningServer } from "../../src/server.js";
import { createSqliteCostStore } from "../../src/store/sqlite/sqlite-cost-store.js";
import { costRecord, money, recordBatches } from "../support/records.js";

/** Debian's chromium; the browser suites skip (saying so) when it is missing. */
export const CHROMIUM_PATH = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM_PATH);
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];

/** Where the suites save screenshots (CI keeps test-results/ as artifacts). */
export const SCREENSHOT_DIR = "test-results/dashboard";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A real server on the real clock (the browser reads the real clock too). */
export interface DashboardServer {
  readonly url: string;
  readonly core: CostCore;
  readonly server: RunningServer;
  close(): Promise<void>;
}

/** Starts core and server on 127.0.0.1 with a free port, in development mode unless a key ring is given. */
export async function startDashboardServer(keyRing?: KeyRing): Promise<DashboardServer> {
  const store = createSqliteCostStore({ path: ":memory:" });
  const core = createCostCore({ store, clock: systemClock });
  const server = await startServer(core, createSilentLogger(), { host: "127.0.0.1", port: 0, shutdownGraceMs: 500, keyRing });
  return {
    url: server.url,
    core,
    server,
    async close() {
      await server.close();
      await core.close();
    },
  };
}

/**
 * Two clusters, three currencies, several providers, operations and models, at
 * ages that land in different windows: minutes (24 h), days (7 d), 40 days (all
 * time only). Amounts with nano digits check that nothing is rounded.
 */
export async function seedCosts(client: CostClient, nowMs: number): Promise<void> {
  const at = (agoMs: number) => nowMs - agoMs;
  const usd = (units: number, nanos = 0): Money => money(units, nanos, "USD");
  const records = [
    costRecord({ clusterId: "API_KEEPER", provider: "openai", operation: "chat-completion", model: "gpt-4", cost: usd(0, 2_000_000), atMs: at(10 * MINUTE) }),
    costRecord({ clusterId: "API_KEEPER", provider: "openai", operation: "embeddings", model: "text-embedding-3", cost: usd(1, 250_000_000), atMs: at(2 * HOUR) }),
    costRecord({ clusterId: "API_KEEPER", provider: "anthropic", operation: "chat-completion", model: "claude-3", cost: usd(3, 500_000_000), atMs: at(3 * DAY) }),
    costRecord({ clusterId: "API_KEEPER", provider: "openai", operation: "chat-completion", model: "gpt-4", cost: usd(10, 1), atMs: at(40 * DAY) }),
    // Today in every time zone's budget: spend for the daily budget's alerts.
    costRecord({ clusterId: "API_KEEPER", provider: "openai", operation: "chat-completion", model: "gpt-4", cost: usd(1, 500_000_000), atMs: at(1_000) }),
    costRecord({ clusterId: "API_KEEPER", provider: "mistral", operation: "chat-completion", model: "mistral-large", cost: money(2, 500_000_000, "EUR"), atMs: at(HOUR) }),
    costRecord({ clusterId: "SEARCH", provider: "openai", operation: "chat-completion", model: "gpt-4", cost: usd(0, 750_000_000), atMs: at(30 * MINUTE) }),
    costRecord({ clusterId: "SEARCH", provider: "cohere", operation: "rerank", model: "", cost: usd(0, 333_333_333), atMs: at(5 * DAY) }),
    costRecord({ clusterId: "SEARCH", provider: "openai", operation: "chat-completion", model: "gpt-4", cost: money(150, 0, "JPY"), atMs: at(1_000) }),
  ];
  const response = await client.recordCosts(recordBatches([records]));
  if (response.acceptedCount !== BigInt(records.length)) throw new Error(`seeding accepted ${response.acceptedCount} of ${records.length} records`);
}

/** A daily 1 USD budget already past its amount (three alerts), and a roomy weekly one (none). */
export async function seedBudgets(client: CostClient): Promise<void> {
  await client.setBudget({
    budget: { id: "api-keeper-daily", clusterId: "API_KEEPER", amount: money(1, 0, "USD"), period: BudgetPeriod.DAILY, alertThresholds: [50, 80] },
  });
  await client.setBudget({
    budget: { id: "search-weekly", clusterId: "SEARCH", amount: money(100, 0, "USD"), period: BudgetPeriod.WEEKLY, alertThresholds: [75], timeZone: "Europe/Paris" },
  });
}

/** The exact decimal of a wire amount, computed here independently of the page's code. */
export function decimalOf(value: Money | undefined): string {
  if (!value) return "0";
  const total = value.units * 1_000_000_000n + BigInt(value.nanos);
  const negative = total < 0n;
  const abs = negative ? -total : total;
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${abs / 1_000_000_000n}${fraction ? `.${fraction}` : ""}`;
}

/** How an en-US reader sees an amount: the currency's usual digits, more when the amount has them. */
export function usText(value: Money | undefined, currency = value?.currencyCode ?? "USD"): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency, maximumFractionDigits: 9 }).format(decimalOf(value) as `${number}`);
}
