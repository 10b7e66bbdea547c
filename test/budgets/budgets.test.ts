import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BudgetPeriod, CostBudgetSchema } from "../../gen/dreamnet/cost/v1/budget_pb.js";
import type { CostRecord as CostRecordProto } from "../../gen/dreamnet/cost/v1/cost_record_pb.js";
import { MoneySchema } from "../../gen/dreamnet/cost/v1/money_pb.js";
import type { CostClient } from "../../src/client/index.js";
import { failure, nanosOf, startAlertsServer, UNIT, wireBudget, wireRecord, type AlertsServer } from "../support/alerts-server.js";

const HOUR = 3_600_000;
const at = (iso: string): number => Date.parse(iso);
const iso = (ts: Parameters<typeof timestampDate>[0] | undefined): string | undefined => (ts ? timestampDate(ts).toISOString() : undefined);
/** Money as "units.nanos CUR" for exact, readable comparison. */
const shown = (money: { units: bigint; nanos: number; currencyCode: string } | undefined): string | undefined =>
  money ? `${money.units}/${money.nanos} ${money.currencyCode}` : undefined;

/** Sends records on one RecordCosts stream and checks they were all new. */
async function record(client: CostClient, records: CostRecordProto[]): Promise<void> {
  const response = await client.recordCosts(
    (async function* () {
      yield { records };
    })(),
  );
  expect({ accepted: response.acceptedCount, rejected: response.rejectedCount }).toEqual({ accepted: BigInt(records.length), rejected: 0n });
}

let s: AlertsServer;
let client: CostClient;

beforeEach(async () => {
  s = await startAlertsServer({ nowMs: at("2026-03-11T00:00:00Z") });
  client = s.client;
});
afterEach(async () => {
  await s.close();
});

describe("SetBudget", () => {
  it("creates a budget, then replaces it: created true then false, create_time kept, update_time moved", async () => {
    const first = await client.setBudget({ budget: wireBudget({ id: "team-a", clusterId: "c1", thresholds: [80, 50] }) });
    expect(first.created).toBe(true);
    expect(iso(first.budget?.createTime)).toBe("2026-03-11T00:00:00.000Z");
    expect(iso(first.budget?.updateTime)).toBe("2026-03-11T00:00:00.000Z");

    s.clock.advance(HOUR);
    const second = await client.setBudget({ budget: wireBudget({ id: "team-a", clusterId: "c1", amountNanos: 20n * UNIT, thresholds: [90] }) });
    expect(second.created).toBe(false);
    expect(iso(second.budget?.createTime)).toBe("2026-03-11T00:00:00.000Z");
    expect(iso(second.budget?.updateTime)).toBe("2026-03-11T01:00:00.000Z");
    expect(nanosOf(second.budget?.amount)).toBe(20n * UNIT);
    expect(second.budget?.alertThresholds).toEqual([90]);

    const got = await client.getBudget({ budgetId: "team-a" });
    expect(got.budget).toEqual(second.budget);
  });

  it("fills defaults and normalises thresholds: UTC, enabled, sorted, 100 folded into EXCEEDED", async () => {
    const budget = create(CostBudgetSchema, {
      id: "defaults",
      clusterId: "c1",
      amount: create(MoneySchema, { currencyCode: "USD", units: 10n }),
      period: BudgetPeriod.WEEKLY,
      alertThresholds: [100, 80, 50],
    });
    const { budget: stored } = await client.setBudget({ budget });
    expect({ timeZone: stored?.timeZone, enabled: stored?.enabled, thresholds: stored?.alertThresholds, period: stored?.period }).toEqual({
      timeZone: "UTC",
      enabled: true,
      thresholds: [50, 80],
      period: BudgetPeriod.WEEKLY,
    });
  });

  const cases: { name: string; budget: () => ReturnType<typeof wireBudget> | undefined; message: string }[] = [
    { name: "a missing budget", budget: () => undefined, message: "budget is required" },
    { name: "an amount of zero", budget: () => wireBudget({ id: "b", clusterId: "c1", amountNanos: 0n }), message: "budget.amount must be greater than zero" },
    { name: "a negative amount", budget: () => wireBudget({ id: "b", clusterId: "c1", amountNanos: -UNIT }), message: "budget.amount must be greater than zero" },
    {
      name: "an amount above 10^12 units",
      budget: () => wireBudget({ id: "b", clusterId: "c1", amountNanos: 1_000_000_000_001n * UNIT }),
      message: "budget.amount.units must be at most 1000000000000",
    },
    {
      name: "an unknown currency",
      budget: () => wireBudget({ id: "b", clusterId: "c1", currency: "ABC" }),
      message: 'budget.amount.currency_code must be an ISO 4217 code such as "USD" (got "ABC")',
    },
    {
      name: "an unspecified period",
      budget: () => wireBudget({ id: "b", clusterId: "c1", period: BudgetPeriod.UNSPECIFIED }),
      message: "budget.period is required: DAILY, WEEKLY or MONTHLY",
    },
    {
      name: "a threshold of 0",
      budget: () => wireBudget({ id: "b", clusterId: "c1", thresholds: [0] }),
      message: "budget.alert_thresholds[0] must be a percentage from 1 to 100 (got 0)",
    },
    {
      name: "a threshold of 101",
      budget: () => wireBudget({ id: "b", clusterId: "c1", thresholds: [50, 101] }),
      message: "budget.alert_thresholds[1] must be a percentage from 1 to 100 (got 101)",
    },
    {
      name: "a repeated threshold",
      budget: () => wireBudget({ id: "b", clusterId: "c1", thresholds: [50, 80, 50] }),
      message: "budget.alert_thresholds[2] repeats 50",
    },
    {
      name: "more than 10 thresholds",
      budget: () => wireBudget({ id: "b", clusterId: "c1", thresholds: [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55] }),
      message: "budget.alert_thresholds has 11 entries; at most 10 are allowed",
    },
    {
      name: "an unknown time zone",
      budget: () => wireBudget({ id: "b", clusterId: "c1", timeZone: "Mars/Base" }),
      message: 'budget.time_zone must be an IANA time zone such as "Europe/Paris" (got "Mars/Base")',
    },
    {
      name: "an id with a space",
      budget: () => wireBudget({ id: "bad id", clusterId: "c1" }),
      message: 'budget.id must start with a letter or digit and hold only A-Z a-z 0-9 . _ : - (got "bad id")',
    },
    { name: "an id of 129 characters", budget: () => wireBudget({ id: "b".repeat(129), clusterId: "c1" }), message: "budget.id must be at most 128 characters" },
    { name: "an empty id", budget: () => wireBudget({ id: "", clusterId: "c1" }), message: "budget.id is required" },
    { name: "an empty cluster id", budget: () => wireBudget({ id: "b", clusterId: "" }), message: "budget.cluster_id is required" },
  ];

  it.each(cases)("refuses $name with INVALID_ARGUMENT naming the field, and stores nothing", async ({ budget, message }) => {
    expect(await failure(client.setBudget({ budget: budget() }))).toEqual({ code: "InvalidArgument", message });
    expect((await client.listBudgets({})).budgets).toEqual([]);
  });

  it("accepts exactly 10 thresholds, and 1 and 100", async () => {
    const { budget } = await client.setBudget({ budget: wireBudget({ id: "ten", clusterId: "c1", thresholds: [1, 10, 20, 30, 40, 50, 60, 70, 80, 100] }) });
    expect(budget?.alertThresholds).toEqual([1, 10, 20, 30, 40, 50, 60, 70, 80]);
  });
});

describe("GetBudget and DeleteBudget", () => {
  it("answer NOT_FOUND for an unknown budget", async () => {
    expect(await failure(client.getBudget({ budgetId: "nope" }))).toEqual({ code: "NotFound", message: 'budget "nope" not found' });
    expect(await failure(client.deleteBudget({ budgetId: "nope" }))).toEqual({ code: "NotFound", message: 'budget "nope" not found' });
    expect(await failure(client.getBudgetStatus({ budgetId: "nope" }))).toEqual({ code: "NotFound", message: 'budget "nope" not found' });
  });

  it("refuses an empty budget_id with INVALID_ARGUMENT", async () => {
    expect(await failure(client.getBudget({ budgetId: "" }))).toEqual({ code: "InvalidArgument", message: "budget_id is required" });
  });

  it("deletes a budget, returning it as it was; afterwards it is gone", async () => {
    const { budget } = await client.setBudget({ budget: wireBudget({ id: "gone", clusterId: "c1" }) });
    const deleted = await client.deleteBudget({ budgetId: "gone" });
    expect(deleted.budget).toEqual(budget);
    expect((await failure(client.getBudget({ budgetId: "gone" }))).code).toBe("NotFound");
    expect((await failure(client.deleteBudget({ budgetId: "gone" }))).code).toBe("NotFound");
  });
});

describe("ListBudgets", () => {
  beforeEach(async () => {
    for (const id of ["a1", "a2", "a3", "a4", "a5"]) await client.setBudget({ budget: wireBudget({ id, clusterId: "cluster-a" }) });
    for (const id of ["b1", "b2"]) await client.setBudget({ budget: wireBudget({ id, clusterId: "cluster-b" }) });
  });

  const ids = (budgets: readonly { id: string }[]): string[] => budgets.map((b) => b.id);

  it("lists one cluster's budgets ordered by id", async () => {
    expect(ids((await client.listBudgets({ clusterId: "cluster-b" })).budgets)).toEqual(["b1", "b2"]);
    expect(ids((await client.listBudgets({ clusterId: "cluster-none" })).budgets)).toEqual([]);
  });

  it("lists every cluster's budgets when no cluster is given", async () => {
    const page = await client.listBudgets({});
    expect(ids(page.budgets)).toEqual(["a1", "a2", "a3", "a4", "a5", "b1", "b2"]);
    expect(page.nextPageToken).toBe("");
  });

  it("pages through a cluster with page_size, the last page with an empty token", async () => {
    const seen: string[][] = [];
    let token = "";
    do {
      const page = await client.listBudgets({ clusterId: "cluster-a", pageSize: 2, pageToken: token });
      seen.push(ids(page.budgets));
      token = page.nextPageToken;
    } while (token !== "");
    expect(seen).toEqual([["a1", "a2"], ["a3", "a4"], ["a5"]]);
  });

  it("ends with an empty token when the last page is exactly full", async () => {
    const first = await client.listBudgets({ pageSize: 4 });
    const second = await client.listBudgets({ pageSize: 4, pageToken: first.nextPageToken });
    expect(ids(second.budgets)).toEqual(["a5", "b1", "b2"]);
    const exact = await client.listBudgets({ clusterId: "cluster-b", pageSize: 2 });
    expect({ ids: ids(exact.budgets), next: exact.nextPageToken }).toEqual({ ids: ["b1", "b2"], next: "" });
  });

  it("refuses a page_size above 500 and a token it did not issue", async () => {
    expect(await failure(client.listBudgets({ pageSize: 501 }))).toEqual({ code: "InvalidArgument", message: "page_size must be between 1 and 500 (0 means 100)" });
    expect(await failure(client.listBudgets({ pageToken: "junk" }))).toEqual({ code: "InvalidArgument", message: "page_token is not a token from a previous response" });
  });
});

describe("GetBudgetStatus", () => {
  it("reports spent, remaining, percent, period bounds and forecast exactly at an injected instant", async () => {
    // Now: 2026-03-11T00:00Z, 10 of March's 31 days gone.
    await client.setBudget({ budget: wireBudget({ id: "march", clusterId: "c1" }) });
    await record(client, [
      wireRecord({ clusterId: "c1", nanos: 1_500_000_000n, atMs: at("2026-03-01T00:00:00.000Z") }), // first instant of the period
      wireRecord({ clusterId: "c1", nanos: 1_499_999_999n, atMs: at("2026-03-10T23:59:59.999Z") }),
      wireRecord({ clusterId: "c1", nanos: 1n, atMs: at("2026-03-05T12:00:00Z") }),
      wireRecord({ clusterId: "c1", nanos: 4n * UNIT, atMs: at("2026-02-28T23:59:59.999Z") }), // previous period
      wireRecord({ clusterId: "c1", nanos: 5n * UNIT, atMs: at("2026-03-05T12:00:00Z"), currency: "EUR" }), // other currency
      wireRecord({ clusterId: "c2", nanos: 5n * UNIT, atMs: at("2026-03-05T12:00:00Z") }), // other cluster
    ]);
    const { status } = await client.getBudgetStatus({ budgetId: "march" });
    expect({
      start: iso(status?.periodStartTime),
      end: iso(status?.periodEndTime),
      spent: shown(status?.spent),
      remaining: shown(status?.remaining),
      percent: status?.percentUsed,
      forecast: shown(status?.forecast),
      budget: status?.budget?.id,
    }).toEqual({
      start: "2026-03-01T00:00:00.000Z",
      end: "2026-04-01T00:00:00.000Z",
      spent: "3/0 USD",
      remaining: "7/0 USD",
      percent: 30,
      // 3 USD in 10 days of 31 projects 9.3 USD.
      forecast: "9/300000000 USD",
      budget: "march",
    });
  });

  it("reports a negative remaining amount and more than 100 % once exceeded", async () => {
    await client.setBudget({ budget: wireBudget({ id: "over", clusterId: "c1" }) });
    await record(client, [wireRecord({ clusterId: "c1", nanos: 12_345_000_000n, atMs: at("2026-03-02T00:00:00Z") })]);
    const { status } = await client.getBudgetStatus({ budgetId: "over" });
    expect({ spent: shown(status?.spent), remaining: shown(status?.remaining), percent: status?.percentUsed }).toEqual({
      spent: "12/345000000 USD",
      remaining: "-2/-345000000 USD",
      percent: 123.45,
    });
  });

  it("leaves the forecast unset before a tenth of the period has passed", async () => {
    s.clock.set(at("2026-03-03T00:00:00Z")); // 2 of 31 days
    await client.setBudget({ budget: wireBudget({ id: "early", clusterId: "c1" }) });
    await record(client, [wireRecord({ clusterId: "c1", nanos: UNIT, atMs: at("2026-03-02T00:00:00Z") })]);
    const { status } = await client.getBudgetStatus({ budgetId: "early" });
    expect({ spent: shown(status?.spent), forecast: status?.forecast }).toEqual({ spent: "1/0 USD", forecast: undefined });
  });

  it("counts only the budget's currency: a EUR budget sees EUR records only", async () => {
    await client.setBudget({ budget: wireBudget({ id: "euro", clusterId: "c1", currency: "EUR" }) });
    await record(client, [
      wireRecord({ clusterId: "c1", nanos: 2n * UNIT, atMs: at("2026-03-05T00:00:00Z"), currency: "EUR" }),
      wireRecord({ clusterId: "c1", nanos: 7n * UNIT, atMs: at("2026-03-05T00:00:00Z") }),
    ]);
    const { status } = await client.getBudgetStatus({ budgetId: "euro" });
    expect({ spent: shown(status?.spent), percent: status?.percentUsed }).toEqual({ spent: "2/0 EUR", percent: 20 });
  });

  it("sums a New York day exactly from roll-ups when records straddle local midnight", async () => {
    // Now: 2026-03-10 12:00 EDT. The day runs from 04:00Z to 04:00Z next day.
    s.clock.set(at("2026-03-10T16:00:00Z"));
    await client.setBudget({ budget: wireBudget({ id: "ny-day", clusterId: "ny", period: BudgetPeriod.DAILY, timeZone: "America/New_York" }) });
    const records = [
      wireRecord({ clusterId: "ny", nanos: 1_000_000_000n, atMs: at("2026-03-10T03:59:00Z") }), // 23:59 the day before
      wireRecord({ clusterId: "ny", nanos: 500_000_000n, atMs: at("2026-03-10T03:59:59.999Z") }), // the last millisecond before
      wireRecord({ clusterId: "ny", nanos: 250_000_000n, atMs: at("2026-03-10T04:00:00.000Z") }), // local midnight itself
      wireRecord({ clusterId: "ny", nanos: 2_000_000_000n, atMs: at("2026-03-10T04:01:00Z") }), // 00:01
    ];
    // Fill whole hours on both sides so the sum goes through roll-up buckets, not only raw edges.
    for (let h = 0; h < 12; h++) {
      records.push(wireRecord({ clusterId: "ny", nanos: 100_000_000n, atMs: at("2026-03-09T16:30:00Z") + h * HOUR })); // before
      records.push(wireRecord({ clusterId: "ny", nanos: 10_000_000n, atMs: at("2026-03-10T04:30:00Z") + h * HOUR })); // inside
    }
    await record(client, records);
    const { status } = await client.getBudgetStatus({ budgetId: "ny-day" });
    expect({ start: iso(status?.periodStartTime), end: iso(status?.periodEndTime), spent: nanosOf(status?.spent) }).toEqual({
      start: "2026-03-10T04:00:00.000Z",
      end: "2026-03-11T04:00:00.000Z",
      spent: 250_000_000n + 2_000_000_000n + 12n * 10_000_000n,
    });
  });

  it("sums a day starting at a half hour (Asia/Kolkata) exactly around 18:30Z", async () => {
    s.clock.set(at("2026-03-10T12:00:00Z"));
    await client.setBudget({ budget: wireBudget({ id: "in-day", clusterId: "in", period: BudgetPeriod.DAILY, timeZone: "Asia/Kolkata" }) });
    await record(client, [
      wireRecord({ clusterId: "in", nanos: 1n, atMs: at("2026-03-09T18:29:00Z") }),
      wireRecord({ clusterId: "in", nanos: 2n, atMs: at("2026-03-09T18:29:59.999Z") }),
      wireRecord({ clusterId: "in", nanos: 4n, atMs: at("2026-03-09T18:30:00.000Z") }),
      wireRecord({ clusterId: "in", nanos: 8n, atMs: at("2026-03-09T18:31:00Z") }),
      wireRecord({ clusterId: "in", nanos: 16n, atMs: at("2026-03-10T11:59:59.999Z") }),
    ]);
    const { status } = await client.getBudgetStatus({ budgetId: "in-day" });
    expect({ start: iso(status?.periodStartTime), spent: nanosOf(status?.spent) }).toEqual({ start: "2026-03-09T18:30:00.000Z", spent: 4n + 8n + 16n });
  });

  it("spans the 23-hour New York day of 2026-03-08 and excludes the day before", async () => {
    s.clock.set(at("2026-03-09T03:30:00Z")); // 23:30 EDT on the 8th
    await client.setBudget({ budget: wireBudget({ id: "dst", clusterId: "dst", period: BudgetPeriod.DAILY, timeZone: "America/New_York" }) });
    await record(client, [
      wireRecord({ clusterId: "dst", nanos: 1n, atMs: at("2026-03-08T04:59:59.999Z") }), // 23:59:59.999 EST on the 7th
      wireRecord({ clusterId: "dst", nanos: 10n, atMs: at("2026-03-08T05:00:00Z") }), // 00:00 EST
      wireRecord({ clusterId: "dst", nanos: 100n, atMs: at("2026-03-08T07:00:00Z") }), // 03:00 EDT, right after the gap
      wireRecord({ clusterId: "dst", nanos: 1000n, atMs: at("2026-03-09T03:29:00Z") }), // 23:29 EDT
    ]);
    const { status } = await client.getBudgetStatus({ budgetId: "dst" });
    expect({ start: iso(status?.periodStartTime), end: iso(status?.periodEndTime), spent: nanosOf(status?.spent) }).toEqual({
      start: "2026-03-08T05:00:00.000Z",
      end: "2026-03-09T04:00:00.000Z",
      spent: 1110n,
    });
  });
});
