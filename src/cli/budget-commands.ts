import { toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { BudgetPeriod, BudgetStatusSchema, CostBudgetSchema, type CostBudget } from "../../gen/dreamnet/cost/v1/budget_pb.js";
import { moneyToProto } from "../api/money-mapping.js";
import { parseMoneyAmount } from "../domain/money.js";
import { clientFrom, UsageError, withClientOptions, type ClientFlags } from "./client-options.js";
import { table, toJsonText } from "./format.js";
import { amountText } from "./money-text.js";

interface SetFlags extends ClientFlags {
  readonly cluster: string;
  readonly amount: string;
  readonly currency: string;
  readonly period: string;
  readonly threshold?: string[];
  readonly timeZone?: string;
  readonly disabled?: boolean;
}

/** Adds `budget set|get|list|delete|status`. */
export function addBudgetCommands(program: Command, run: (server: string, work: () => Promise<void>) => Promise<void>): void {
  const budget = program.command("budget").description("set, read and delete budgets");

  withClientOptions(
    budget
      .command("set")
      .description("create or replace a budget (evaluated at once)")
      .argument("<id>", "budget id")
      .requiredOption("--cluster <id>", "cluster whose spend counts")
      .requiredOption("--amount <amount>", "limit per period, e.g. 1000")
      .option("--currency <code>", "ISO 4217 currency", "USD")
      .option("--period <period>", "daily, weekly or monthly", "monthly")
      .option("--threshold <percent...>", "alert thresholds in percent, e.g. --threshold 50 80")
      .option("--time-zone <zone>", "IANA time zone of the periods", "UTC")
      .option("--disabled", "store it without raising alerts"),
  ).action((id: string, flags: SetFlags) =>
    run(flags.server, async () => {
      const amount = parseMoneyAmount(flags.amount, flags.currency);
      if (!amount) throw new UsageError(`--amount must be a decimal amount and --currency an ISO 4217 code (got "${flags.amount}" "${flags.currency}")`);
      const period = { daily: BudgetPeriod.DAILY, weekly: BudgetPeriod.WEEKLY, monthly: BudgetPeriod.MONTHLY }[flags.period];
      if (period === undefined) throw new UsageError(`--period must be daily, weekly or monthly (got "${flags.period}")`);
      const thresholds = (flags.threshold ?? []).map((t) => {
        if (!/^\d+$/.test(t)) throw new UsageError(`--threshold takes whole percentages (got "${t}")`);
        return Number(t);
      });
      const response = await clientFrom(flags).setBudget({
        budget: { id, clusterId: flags.cluster, amount: moneyToProto(amount), period, alertThresholds: thresholds, enabled: !flags.disabled, timeZone: flags.timeZone ?? "UTC" },
      });
      print(flags, response.budget ? [response.budget] : [], response.created ? "created" : "replaced");
    }),
  );

  withClientOptions(budget.command("get").description("show one budget").argument("<id>", "budget id")).action((id: string, flags: ClientFlags) =>
    run(flags.server, async () => {
      const response = await clientFrom(flags).getBudget({ budgetId: id });
      print(flags, response.budget ? [response.budget] : []);
    }),
  );

  withClientOptions(budget.command("list").description("list budgets").option("--cluster <id>", "only this cluster")).action(
    (flags: ClientFlags & { cluster?: string }) =>
      run(flags.server, async () => {
        const client = clientFrom(flags);
        const budgets: CostBudget[] = [];
        let pageToken = "";
        do {
          const page = await client.listBudgets({ clusterId: flags.cluster ?? "", pageSize: 500, pageToken });
          budgets.push(...page.budgets);
          pageToken = page.nextPageToken;
        } while (pageToken);
        print(flags, budgets);
      }),
  );

  withClientOptions(budget.command("delete").description("delete a budget (its alerts stay)").argument("<id>", "budget id")).action((id: string, flags: ClientFlags) =>
    run(flags.server, async () => {
      const response = await clientFrom(flags).deleteBudget({ budgetId: id });
      print(flags, response.budget ? [response.budget] : [], "deleted");
    }),
  );

  withClientOptions(budget.command("status").description("spend, remaining and forecast of the current period").argument("<id>", "budget id")).action(
    (id: string, flags: ClientFlags) =>
      run(flags.server, async () => {
        const { status } = await clientFrom(flags).getBudgetStatus({ budgetId: id });
        if (!status) return;
        if (flags.json) {
          process.stdout.write(`${toJsonText(toJson(BudgetStatusSchema, status))}\n`);
          return;
        }
        const currency = status.spent?.currencyCode ?? "";
        const rows = [
          ["budget", `${status.budget?.id ?? id} (${status.budget?.clusterId ?? ""})`],
          ["period", `${iso(status.periodStartTime)} to ${iso(status.periodEndTime)}`],
          ["spent", `${amountText(status.spent)} ${currency} of ${amountText(status.budget?.amount)} ${currency} (${status.percentUsed.toFixed(2)} %)`],
          ["remaining", `${amountText(status.remaining)} ${currency}`],
          ["forecast", status.forecast ? `${amountText(status.forecast)} ${currency} by the end of the period` : "too early in the period"],
        ];
        process.stdout.write(`${table(["", ""], rows).split("\n").slice(1).join("\n")}\n`);
      }),
  );
}

function print(flags: ClientFlags, budgets: readonly CostBudget[], verb?: string): void {
  if (flags.json) {
    process.stdout.write(`${toJsonText(budgets.map((b) => toJson(CostBudgetSchema, b)))}\n`);
    return;
  }
  if (budgets.length === 0) {
    process.stdout.write("no budgets\n");
    return;
  }
  if (verb) process.stdout.write(`${verb}:\n`);
  const rows = budgets.map((b) => [
    b.id,
    b.clusterId,
    `${amountText(b.amount)} ${b.amount?.currencyCode ?? ""}`,
    BudgetPeriod[b.period].toLowerCase(),
    b.alertThresholds.join(",") || "-",
    b.timeZone,
    b.enabled === false ? "no" : "yes",
  ]);
  process.stdout.write(`${table(["ID", "CLUSTER", "AMOUNT", "PERIOD", "THRESHOLDS", "TIME ZONE", "ENABLED"], rows)}\n`);
}

function iso(ts: Parameters<typeof timestampDate>[0] | undefined): string {
  return ts ? timestampDate(ts).toISOString() : "";
}
