import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlertEventType, AlertKind, type CostAlert } from "../../gen/dreamnet/cost/v1/alert_pb.js";
import { BudgetPeriod } from "../../gen/dreamnet/cost/v1/budget_pb.js";
import type { CostRecord as CostRecordProto } from "../../gen/dreamnet/cost/v1/cost_record_pb.js";
import { AlertState, type ListAlertsRequestSchema, type RecordCostsRequestSchema, type WatchAlertsResponse } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { timestampFromMs } from "../../src/api/time-mapping.js";
import type { CostClient } from "../../src/client/index.js";
import type { Alert } from "../../src/domain/alert.js";
import type { BudgetInput } from "../../src/core/budgets.js";
import {
  chunked,
  createAlertsCore,
  createPushable,
  domainRecord,
  failure,
  nanosOf,
  openWatcher,
  startAlertsServer,
  UNIT,
  wireBudget,
  wireRecord,
  type AlertsServer,
} from "../support/alerts-server.js";

const HOUR = 3_600_000;
const at = (iso: string): number => Date.parse(iso);
const iso = (ts: Parameters<typeof timestampDate>[0] | undefined): string | undefined => (ts ? timestampDate(ts).toISOString() : undefined);
/** 2.5 days into March: under a tenth of the month, so monthly budgets raise no FORECAST alerts. */
const EARLY_MARCH = at("2026-03-03T12:00:00Z");
const CENT = UNIT / 100n;

/** "KIND:percent" of a wire alert, for exact comparison of sets of alerts. */
const tag = (alert: Pick<CostAlert, "kind" | "thresholdPercent" | "budgetId">): string => `${alert.budgetId}/${AlertKind[alert.kind]}:${alert.thresholdPercent}`;
const domainTag = (alert: Alert): string => `${alert.budgetId}/${alert.kind.toUpperCase()}:${alert.thresholdPercent}`;

/** A RecordCosts message as the client takes it. */
type RecordCostsInit = MessageInitShape<typeof RecordCostsRequestSchema>;

/** Every alert matching a request, through all pages. */
async function listAll(client: CostClient, request: MessageInitShape<typeof ListAlertsRequestSchema> = {}): Promise<CostAlert[]> {
  const alerts: CostAlert[] = [];
  let pageToken = "";
  do {
    const page = await client.listAlerts({ ...request, pageToken });
    alerts.push(...page.alerts);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return alerts;
}

/** Sends records over `streams` concurrent RecordCosts calls (each on its own connection), `perMessage` records a message. */
async function sendConcurrently(s: AlertsServer, records: readonly CostRecordProto[], streams: number, perMessage: number): Promise<bigint> {
  const shares = Array.from({ length: streams }, (_, i) => records.filter((_, j) => j % streams === i));
  const responses = await Promise.all(
    shares.map((share) =>
      s.newClient().recordCosts(
        (async function* (): AsyncGenerator<RecordCostsInit> {
          for (const records of chunked(share, perMessage)) yield { records };
        })(),
      ),
    ),
  );
  return responses.reduce((n, r) => n + r.acceptedCount, 0n);
}

/** The TRIGGERED alerts among watcher messages. */
const triggered = (messages: readonly WatchAlertsResponse[]): CostAlert[] =>
  messages.flatMap((m) => (m.message.case === "event" && m.message.value.type === AlertEventType.TRIGGERED && m.message.value.alert ? [m.message.value.alert] : []));

/** Whether a message is the TRIGGERED event of an alert of this budget. */
const isTriggeredOf =
  (budgetId: string) =>
  (m: WatchAlertsResponse): boolean =>
    m.message.case === "event" && m.message.value.type === AlertEventType.TRIGGERED && m.message.value.alert?.budgetId === budgetId;

/** A budget input at core level: 10 USD monthly in UTC unless told otherwise. */
function budgetInput(overrides: Partial<BudgetInput> & Pick<BudgetInput, "id" | "clusterId">): BudgetInput {
  return { amount: { currency: "USD", nanos: 10n * UNIT }, period: "monthly", thresholds: [50, 80], enabled: true, timeZone: "UTC", ...overrides };
}

describe("alerts at core level", () => {
  it("raise exactly one alert per budget, kind and threshold under 8 concurrent ingest calls", async () => {
    const { core, close } = createAlertsCore({ nowMs: EARLY_MARCH });
    try {
      await core.budgets.set(budgetInput({ id: "m-utc", clusterId: "c1", thresholds: [25, 50, 75, 90] }), "test");
      await core.budgets.set(budgetInput({ id: "m-ny", clusterId: "c1", thresholds: [50], timeZone: "America/New_York" }), "test");
      // 20 USD in 1.5 days of a 7-day week projects 93.33 USD: below 100, so no FORECAST either.
      await core.budgets.set(budgetInput({ id: "week", clusterId: "c1", amount: { currency: "USD", nanos: 100n * UNIT }, period: "weekly", thresholds: [1, 2, 20] }), "test");
      // 8 callers x 10 calls x 25 records of 0.01 USD = 20 USD.
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let call = 0; call < 10; call++) {
            await core.ingest.record(Array.from({ length: 25 }, () => domainRecord({ clusterId: "c1", nanos: CENT, atMs: EARLY_MARCH - HOUR })));
          }
        }),
      );
      await core.engine.idle();
      const { alerts } = await core.alerts.list({ state: "all", limit: 500 });
      expect(alerts.map(domainTag).sort()).toEqual(
        [
          "m-utc/THRESHOLD:25",
          "m-utc/THRESHOLD:50",
          "m-utc/THRESHOLD:75",
          "m-utc/THRESHOLD:90",
          "m-utc/EXCEEDED:100",
          "m-ny/THRESHOLD:50",
          "m-ny/EXCEEDED:100",
          "week/THRESHOLD:1",
          "week/THRESHOLD:2",
          "week/THRESHOLD:20",
        ].sort(),
      );
    } finally {
      await close();
    }
  });

  it("raise each alert once when two instances ingest into the same SQLite file concurrently", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cost-core-alerts-"));
    const path = join(dir, "shared.db");
    const a = createAlertsCore({ nowMs: EARLY_MARCH, storePath: path });
    const b = createAlertsCore({ nowMs: EARLY_MARCH, storePath: path });
    try {
      await a.core.budgets.set(budgetInput({ id: "shared", clusterId: "c1", thresholds: [10, 20, 30, 40, 50, 60, 70, 80, 90] }), "test");
      await Promise.all(
        [a, b].flatMap(({ core }) =>
          Array.from({ length: 4 }, async () => {
            for (let call = 0; call < 10; call++) {
              await core.ingest.record(Array.from({ length: 25 }, () => domainRecord({ clusterId: "c1", nanos: CENT, atMs: EARLY_MARCH - HOUR })));
            }
          }),
        ),
      );
      await Promise.all([a.core.engine.idle(), b.core.engine.idle()]);
      const { alerts } = await b.core.alerts.list({ state: "all", limit: 500 });
      expect(alerts.map(domainTag).sort()).toEqual(
        [10, 20, 30, 40, 50, 60, 70, 80, 90].map((p) => `shared/THRESHOLD:${p}`).concat("shared/EXCEEDED:100").sort(),
      );
    } finally {
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("alerts over the service", () => {
  let s: AlertsServer;
  let client: CostClient;

  beforeEach(async () => {
    s = await startAlertsServer({ nowMs: EARLY_MARCH });
    client = s.client;
  });
  afterEach(async () => {
    await s.close();
  });

  it("raise exactly one alert per kind and threshold from 8 concurrent RecordCosts streams", async () => {
    await client.setBudget({ budget: wireBudget({ id: "m-utc", clusterId: "c1", thresholds: [25, 50, 75, 90] }) });
    await client.setBudget({ budget: wireBudget({ id: "m-paris", clusterId: "c1", thresholds: [50], timeZone: "Europe/Paris" }) });
    await client.setBudget({ budget: wireBudget({ id: "other", clusterId: "c2", thresholds: [50] }) });
    const records = Array.from({ length: 2_000 }, () => wireRecord({ clusterId: "c1", nanos: CENT, atMs: EARLY_MARCH - HOUR }));
    expect(await sendConcurrently(s, records, 8, 25)).toBe(2_000n);
    await s.core.engine.idle();

    const alerts = await listAll(client, { state: AlertState.ALL });
    expect(alerts.map(tag).sort()).toEqual(
      ["m-utc/THRESHOLD:25", "m-utc/THRESHOLD:50", "m-utc/THRESHOLD:75", "m-utc/THRESHOLD:90", "m-utc/EXCEEDED:100", "m-paris/THRESHOLD:50", "m-paris/EXCEEDED:100"].sort(),
    );
    expect(new Set(alerts.map((a) => a.id)).size).toBe(alerts.length);
  });

  it("alert at once when a budget is lowered below current spend: the alert exists when SetBudget returns", async () => {
    await client.recordCost({ record: wireRecord({ clusterId: "c1", nanos: 6n * UNIT, atMs: EARLY_MARCH - HOUR }) });
    await s.core.engine.idle();
    await client.setBudget({ budget: wireBudget({ id: "lower", clusterId: "c1", amountNanos: 20n * UNIT, thresholds: [50] }) });
    expect(await listAll(client, { state: AlertState.ALL })).toEqual([]);

    s.clock.advance(HOUR);
    await client.setBudget({ budget: wireBudget({ id: "lower", clusterId: "c1", amountNanos: 10n * UNIT, thresholds: [50] }) });
    const afterFirst = await listAll(client, { state: AlertState.ALL });
    expect(afterFirst.map(tag)).toEqual(["lower/THRESHOLD:50"]);
    const [threshold] = afterFirst;
    expect({
      cluster: threshold?.clusterId,
      threshold: nanosOf(threshold?.threshold),
      current: nanosOf(threshold?.currentCost),
      percent: threshold?.percent,
      period: threshold?.period,
      start: iso(threshold?.periodStartTime),
      end: iso(threshold?.periodEndTime),
      triggered: iso(threshold?.triggerTime),
      acknowledged: threshold?.acknowledged,
    }).toEqual({
      cluster: "c1",
      threshold: 5n * UNIT,
      current: 6n * UNIT,
      percent: 60,
      period: BudgetPeriod.MONTHLY,
      start: "2026-03-01T00:00:00.000Z",
      end: "2026-04-01T00:00:00.000Z",
      triggered: "2026-03-03T13:00:00.000Z",
      acknowledged: false,
    });

    s.clock.advance(HOUR);
    await client.setBudget({ budget: wireBudget({ id: "lower", clusterId: "c1", amountNanos: 5n * UNIT, thresholds: [50] }) });
    const afterSecond = await listAll(client, { state: AlertState.ALL });
    // Newest first; the THRESHOLD alert of this period is not raised again for the new amount.
    expect(afterSecond.map(tag)).toEqual(["lower/EXCEEDED:100", "lower/THRESHOLD:50"]);
    expect({ threshold: nanosOf(afterSecond[0]?.threshold), current: nanosOf(afterSecond[0]?.currentCost), percent: afterSecond[0]?.percent }).toEqual({
      threshold: 5n * UNIT,
      current: 6n * UNIT,
      percent: 120,
    });
  });

  it("raise nothing for a disabled budget, and alert at once when it is enabled", async () => {
    await client.setBudget({ budget: wireBudget({ id: "off", clusterId: "c1", enabled: false }) });
    await client.recordCost({ record: wireRecord({ clusterId: "c1", nanos: 12n * UNIT, atMs: EARLY_MARCH - HOUR }) });
    await s.core.engine.idle();
    expect(await listAll(client, { state: AlertState.ALL })).toEqual([]);
    // A disabled budget still reports where it stands.
    expect(nanosOf((await client.getBudgetStatus({ budgetId: "off" })).status?.spent)).toBe(12n * UNIT);

    await client.setBudget({ budget: wireBudget({ id: "off", clusterId: "c1", enabled: true }) });
    expect((await listAll(client, { state: AlertState.ALL })).map(tag).sort()).toEqual(["off/EXCEEDED:100", "off/THRESHOLD:50", "off/THRESHOLD:80"]);
  });

  it("raise the previous day's alert for a late record timestamped 23:59:59.999 of that day", async () => {
    s.clock.set(at("2026-03-03T00:02:00Z"));
    await client.setBudget({ budget: wireBudget({ id: "daily", clusterId: "c1", period: BudgetPeriod.DAILY, thresholds: [50] }) });
    await client.recordCost({ record: wireRecord({ clusterId: "c1", nanos: 6n * UNIT, atMs: at("2026-03-02T23:59:59.999Z") }) });
    await s.core.engine.idle();
    const alerts = await listAll(client, { state: AlertState.ALL });
    expect(alerts.map((a) => ({ tag: tag(a), start: iso(a.periodStartTime), end: iso(a.periodEndTime), triggered: iso(a.triggerTime) }))).toEqual([
      { tag: "daily/THRESHOLD:50", start: "2026-03-02T00:00:00.000Z", end: "2026-03-03T00:00:00.000Z", triggered: "2026-03-03T00:02:00.000Z" },
    ]);
    // The current day has no spend.
    expect(nanosOf((await client.getBudgetStatus({ budgetId: "daily" })).status?.spent)).toBe(0n);
  });

  it("raise the previous New York month's EXCEEDED alert for a record of March 31, 23:59:59.999 EDT arriving in April", async () => {
    s.clock.set(at("2026-04-01T04:01:00Z")); // 00:01 EDT on April 1
    await client.setBudget({ budget: wireBudget({ id: "ny-month", clusterId: "c1", thresholds: [], timeZone: "America/New_York" }) });
    await client.recordCost({ record: wireRecord({ clusterId: "c1", nanos: 10n * UNIT, atMs: at("2026-04-01T03:59:59.999Z") }) });
    await s.core.engine.idle();
    const alerts = await listAll(client, { state: AlertState.ALL });
    expect(alerts.map((a) => ({ tag: tag(a), start: iso(a.periodStartTime), end: iso(a.periodEndTime) }))).toEqual([
      { tag: "ny-month/EXCEEDED:100", start: "2026-03-01T05:00:00.000Z", end: "2026-04-01T04:00:00.000Z" },
    ]);
  });

  // Regression: only the current and previous periods were evaluated, not the next one a skewed record falls in.
  it("raise the alert of the next day for a record timestamped just past midnight within the allowed clock skew", async () => {
    s.clock.set(at("2026-03-02T23:58:00Z"));
    await client.setBudget({ budget: wireBudget({ id: "skew", clusterId: "c1", period: BudgetPeriod.DAILY, thresholds: [50] }) });
    await client.recordCost({ record: wireRecord({ clusterId: "c1", nanos: 6n * UNIT, atMs: at("2026-03-03T00:02:00Z") }) });
    await s.core.engine.idle();
    s.clock.set(at("2026-03-03T00:03:00Z"));
    // The day of 2026-03-03 is at 60 %: its THRESHOLD alert should exist.
    expect((await client.getBudgetStatus({ budgetId: "skew" })).status?.percentUsed).toBe(60);
    expect((await listAll(client, { state: AlertState.ALL })).map((a) => `${tag(a)}@${iso(a.periodStartTime)}`)).toEqual(["skew/THRESHOLD:50@2026-03-03T00:00:00.000Z"]);
  });

  it("acknowledge once: a second AcknowledgeAlert keeps the first who, when and note and adds no feed event", async () => {
    await client.recordCost({ record: wireRecord({ clusterId: "c1", nanos: 6n * UNIT, atMs: EARLY_MARCH - HOUR }) });
    await s.core.engine.idle();
    // Open a watcher and make sure it is live: it receives the active alert first.
    const watcher = openWatcher(s.newClient(), { includeActive: true });
    await client.setBudget({ budget: wireBudget({ id: "ack", clusterId: "c1", thresholds: [50] }) });
    const [alert] = await listAll(client);
    if (!alert) throw new Error("no alert");
    const first = await watcher.next();
    expect(first?.message.case === "activeAlert" || isTriggeredOf("ack")(first as WatchAlertsResponse)).toBe(true);

    s.clock.advance(HOUR);
    const once = await client.acknowledgeAlert({ alertId: alert.id, note: "on it" });
    s.clock.advance(HOUR);
    const twice = await client.acknowledgeAlert({ alertId: alert.id, note: "again" });
    const firstAck = { acknowledged: true, by: "anonymous", time: "2026-03-03T13:00:00.000Z", note: "on it" };
    const view = (a: CostAlert | undefined) => ({ acknowledged: a?.acknowledged, by: a?.acknowledgedBy, time: iso(a?.acknowledgeTime), note: a?.acknowledgeNote });
    expect({ newly: once.newlyAcknowledged, ...view(once.alert) }).toEqual({ newly: true, ...firstAck });
    expect({ newly: twice.newlyAcknowledged, ...view(twice.alert) }).toEqual({ newly: false, ...firstAck });
    expect((await listAll(client, { state: AlertState.ACKNOWLEDGED })).map(view)).toEqual([firstAck]);
    expect(await listAll(client)).toEqual([]);

    // A sentinel alert marks the end of what the feed had to say.
    await client.setBudget({ budget: wireBudget({ id: "sentinel", clusterId: "c1", thresholds: [], amountNanos: UNIT }) });
    const messages = await watcher.readUntil(isTriggeredOf("sentinel"));
    watcher.cancel();
    const acks = messages.flatMap((m) => (m.message.case === "event" && m.message.value.type === AlertEventType.ACKNOWLEDGED ? [m.message.value] : []));
    expect(acks.map((e) => ({ id: e.alert?.id, ...view(e.alert), time: iso(e.eventTime) }))).toEqual([{ id: alert.id, ...firstAck }]);
  });

  it("acknowledge once under 10 concurrent AcknowledgeAlert calls: one is new, all report the same acknowledgment", async () => {
    await client.recordCost({ record: wireRecord({ clusterId: "c1", nanos: 6n * UNIT, atMs: EARLY_MARCH - HOUR }) });
    await s.core.engine.idle();
    await client.setBudget({ budget: wireBudget({ id: "race", clusterId: "c1", thresholds: [50] }) });
    const [alert] = await listAll(client);
    const watcher = openWatcher(s.newClient(), { includeActive: true });
    await watcher.next();
    const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => s.newClient().acknowledgeAlert({ alertId: alert?.id ?? "", note: `note ${i}` })));
    expect(responses.filter((r) => r.newlyAcknowledged).length).toBe(1);
    const winner = responses.find((r) => r.newlyAcknowledged)?.alert;
    expect(new Set(responses.map((r) => `${r.alert?.acknowledgeNote}|${iso(r.alert?.acknowledgeTime)}|${r.alert?.acknowledgedBy}`))).toEqual(
      new Set([`${winner?.acknowledgeNote}|${iso(winner?.acknowledgeTime)}|anonymous`]),
    );
    await client.setBudget({ budget: wireBudget({ id: "sentinel", clusterId: "c1", thresholds: [], amountNanos: UNIT }) });
    const messages = await watcher.readUntil(isTriggeredOf("sentinel"));
    watcher.cancel();
    expect(messages.filter((m) => m.message.case === "event" && m.message.value.type === AlertEventType.ACKNOWLEDGED).length).toBe(1);
  });

  it("keep a deleted budget's alerts readable and acknowledgeable", async () => {
    await client.recordCost({ record: wireRecord({ clusterId: "c1", nanos: 6n * UNIT, atMs: EARLY_MARCH - HOUR }) });
    await client.setBudget({ budget: wireBudget({ id: "doomed", clusterId: "c1", thresholds: [50] }) });
    await client.deleteBudget({ budgetId: "doomed" });
    const alerts = await listAll(client);
    expect(alerts.map(tag)).toEqual(["doomed/THRESHOLD:50"]);
    const { newlyAcknowledged } = await client.acknowledgeAlert({ alertId: alerts[0]?.id ?? "" });
    expect(newlyAcknowledged).toBe(true);
  });

  it("answer NOT_FOUND for an unknown alert id and INVALID_ARGUMENT for a bad one", async () => {
    expect(await failure(client.acknowledgeAlert({ alertId: "no-such-alert" }))).toEqual({ code: "NotFound", message: 'alert "no-such-alert" not found' });
    expect(await failure(client.acknowledgeAlert({ alertId: "" }))).toEqual({ code: "InvalidArgument", message: "alert_id is required (at most 128 characters)" });
    expect(await failure(client.acknowledgeAlert({ alertId: "x".repeat(129) }))).toEqual({ code: "InvalidArgument", message: "alert_id is required (at most 128 characters)" });
  });

  it("refuse an acknowledgment note over 1,024 characters", async () => {
    await client.recordCost({ record: wireRecord({ clusterId: "c1", nanos: 6n * UNIT, atMs: EARLY_MARCH - HOUR }) });
    await client.setBudget({ budget: wireBudget({ id: "note", clusterId: "c1", thresholds: [50] }) });
    const [alert] = await listAll(client);
    expect(await failure(client.acknowledgeAlert({ alertId: alert?.id ?? "", note: "n".repeat(1_025) }))).toEqual({
      code: "InvalidArgument",
      message: "note must be at most 1024 characters",
    });
    expect((await listAll(client)).length).toBe(1);
  });

  describe("ListAlerts", () => {
    const T0 = EARLY_MARCH;
    beforeEach(async () => {
      await client.recordCosts(
        (async function* () {
          yield { records: [wireRecord({ clusterId: "x", nanos: 20n * UNIT, atMs: T0 - HOUR }), wireRecord({ clusterId: "y", nanos: 20n * UNIT, atMs: T0 - HOUR })] };
        })(),
      );
      await s.core.engine.idle();
      // One EXCEEDED alert per budget, an hour apart: x1 at T0, x2 at T0+1h, x3 at T0+2h, y1 at T0+3h.
      for (const [id, cluster] of [["x1", "x"], ["x2", "x"], ["x3", "x"], ["y1", "y"]] as const) {
        await client.setBudget({ budget: wireBudget({ id, clusterId: cluster, thresholds: [] }) });
        s.clock.advance(HOUR);
      }
      const x2 = (await listAll(client)).find((a) => a.budgetId === "x2");
      await client.acknowledgeAlert({ alertId: x2?.id ?? "" });
    });
    const budgets = (alerts: readonly CostAlert[]): string[] => alerts.map((a) => a.budgetId);

    it("lists active alerts by default, newest first", async () => {
      expect(budgets(await listAll(client))).toEqual(["y1", "x3", "x1"]);
      expect(budgets(await listAll(client, { state: AlertState.ACTIVE }))).toEqual(["y1", "x3", "x1"]);
      expect(budgets(await listAll(client, { state: AlertState.ACKNOWLEDGED }))).toEqual(["x2"]);
      expect(budgets(await listAll(client, { state: AlertState.ALL }))).toEqual(["y1", "x3", "x2", "x1"]);
    });

    it("filters by cluster", async () => {
      expect(budgets(await listAll(client, { clusterId: "x", state: AlertState.ALL }))).toEqual(["x3", "x2", "x1"]);
      expect(budgets(await listAll(client, { clusterId: "y" }))).toEqual(["y1"]);
      expect(budgets(await listAll(client, { clusterId: "none" }))).toEqual([]);
    });

    it("filters by trigger time: start inclusive, end exclusive", async () => {
      const range = (from: number, to?: number) => ({ startTime: timestampFromMs(from), ...(to === undefined ? {} : { endTime: timestampFromMs(to) }), state: AlertState.ALL });
      expect(budgets(await listAll(client, range(T0 + HOUR, T0 + 3 * HOUR)))).toEqual(["x3", "x2"]);
      expect(budgets(await listAll(client, range(T0 + 2 * HOUR)))).toEqual(["y1", "x3"]);
      expect(budgets(await listAll(client, { endTime: timestampFromMs(T0 + 1), state: AlertState.ALL }))).toEqual(["x1"]);
      expect(await failure(client.listAlerts(range(T0 + HOUR, T0 + HOUR)))).toEqual({ code: "InvalidArgument", message: "start_time must be before end_time" });
    });

    it("pages newest first with page_size and page_token", async () => {
      const first = await client.listAlerts({ state: AlertState.ALL, pageSize: 3 });
      expect(budgets(first.alerts)).toEqual(["y1", "x3", "x2"]);
      const second = await client.listAlerts({ state: AlertState.ALL, pageSize: 3, pageToken: first.nextPageToken });
      expect({ budgets: budgets(second.alerts), next: second.nextPageToken }).toEqual({ budgets: ["x1"], next: "" });
    });

    // Regression: a full last page used to carry a token leading to an empty page.
    it("gives an empty next_page_token on a last page that is exactly full", async () => {
      const first = await client.listAlerts({ state: AlertState.ALL, pageSize: 2 });
      const second = await client.listAlerts({ state: AlertState.ALL, pageSize: 2, pageToken: first.nextPageToken });
      expect({ budgets: budgets(second.alerts), next: second.nextPageToken }).toEqual({ budgets: ["x2", "x1"], next: "" });
    });

    it("refuses a page_size above 500 and a foreign page token", async () => {
      expect(await failure(client.listAlerts({ pageSize: 501 }))).toEqual({ code: "InvalidArgument", message: "page_size must be between 1 and 500 (0 means 100)" });
      expect((await failure(client.listAlerts({ pageToken: "junk" }))).code).toBe("InvalidArgument");
    });
  });

  it("meets the acceptance scenario: 1,000 x 0.01 USD from 4 streams against 10 USD at 50 and 80 %, watchers see each alert once", async () => {
    // Warm-up: spend on another cluster, so budgets there alert the moment they are set.
    await client.recordCost({ record: wireRecord({ clusterId: "warm", nanos: 100n * UNIT, atMs: EARLY_MARCH - HOUR }) });
    await s.core.engine.idle();
    await client.setBudget({ budget: wireBudget({ id: "accept", clusterId: "accept", thresholds: [50, 80] }) });

    // An active alert to open on: a watcher with include_active is live once it has sent it.
    await client.setBudget({ budget: wireBudget({ id: "warm-0", clusterId: "warm", thresholds: [] }) });
    const live = openWatcher(s.newClient(), { includeActive: true });
    const resuming = openWatcher(s.newClient(), { includeActive: true });
    const liveSeen = await live.readUntil((m) => m.message.case === "activeAlert");
    await resuming.readUntil((m) => m.message.case === "activeAlert");

    // 4 streams, each sending 250 records of 0.01 USD in messages of 25; half first, then the rest.
    const records = Array.from({ length: 1_000 }, (_, i) => wireRecord({ clusterId: "accept", nanos: CENT, atMs: EARLY_MARCH - HOUR + i }));
    const streams = Array.from({ length: 4 }, () => createPushable<RecordCostsInit>());
    const calls = streams.map((stream) => s.newClient().recordCosts(stream));
    const shares = streams.map((_, i) => chunked(records.filter((_, j) => j % 4 === i), 25));
    for (const [i, stream] of streams.entries()) for (const records of (shares[i] ?? []).slice(0, 5)) stream.push({ records });

    // 500 records make exactly 5 USD: the 50 % alert. The resuming watcher takes it, then disconnects.
    const beforeDrop = await resuming.readUntil(isTriggeredOf("accept"));
    resuming.cancel();
    const lastEvent = beforeDrop[beforeDrop.length - 1];
    const cursor = lastEvent?.message.case === "event" ? lastEvent.message.value.cursor : "";
    expect(cursor).not.toBe("");

    for (const [i, stream] of streams.entries()) {
      for (const records of (shares[i] ?? []).slice(5)) stream.push({ records });
      stream.end();
    }
    const responses = await Promise.all(calls);
    expect(responses.map((r) => [r.acceptedCount, r.duplicateCount, r.rejectedCount])).toEqual(Array.from({ length: 4 }, () => [250n, 0n, 0n]));
    await s.core.engine.idle();

    // Exactly one THRESHOLD at 50, one at 80 and one EXCEEDED; the budget is spent to the cent.
    const alerts = await listAll(client, { clusterId: "accept", state: AlertState.ALL });
    expect(alerts.map(tag).sort()).toEqual(["accept/EXCEEDED:100", "accept/THRESHOLD:50", "accept/THRESHOLD:80"]);
    expect(nanosOf((await client.getBudgetStatus({ budgetId: "accept" })).status?.spent)).toBe(10n * UNIT);
    const expectedIds = alerts.map((a) => a.id).sort();

    // A sentinel after everything: what a watcher has by then is all it will ever get for "accept".
    await client.setBudget({ budget: wireBudget({ id: "warm-2", clusterId: "warm", thresholds: [] }) });
    liveSeen.push(...(await live.readUntil(isTriggeredOf("warm-2"))));
    live.cancel();
    const resumed = openWatcher(s.newClient(), { resumeAfter: cursor });
    const afterResume = await resumed.readUntil(isTriggeredOf("warm-2"));
    resumed.cancel();

    const ids = (messages: readonly WatchAlertsResponse[]): string[] =>
      triggered(messages)
        .filter((a) => a.clusterId === "accept")
        .map((a) => a.id)
        .sort();
    expect(ids(liveSeen)).toEqual(expectedIds);
    expect([...ids(beforeDrop), ...ids(afterResume)].sort()).toEqual(expectedIds);
  });
});
