import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod, CostBudgetSchema, type CostBudget } from "../../gen/dreamnet/cost/v1/budget_pb.js";
import type { CostRecord } from "../../gen/dreamnet/cost/v1/cost_record_pb.js";
import { AlertState, type WatchAlertsResponse } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { CostDimension, SeriesGranularity } from "../../gen/dreamnet/cost/v1/cost_summary_pb.js";
import type { Scope } from "../../src/api/auth/scopes.js";
import type { CostClient } from "../../src/client/index.js";
import { MINUTE, NOW, costRecord, recordBatches, usd } from "../support/records.js";
import { exportAll } from "../support/rpc-helpers.js";
import { RPC_NAMES, RPC_SCOPES, type RpcName } from "../support/security-rpcs.js";
import {
  createGrpcJsProbe,
  firstWatchMessage,
  outcomeOf,
  startSecurityServer,
  type ClientOptions,
  type KeySpec,
  type SecurityServer,
} from "../support/security-server.js";

const A = "TEAM_A";
const B = "TEAM_B";

/** The scopes below admin, one key each. */
const PLAIN_SCOPES = ["costs:write", "costs:read", "budgets:read", "budgets:write", "alerts:read", "alerts:ack"] as const satisfies readonly Scope[];

const keyIdOf = (scope: Scope): string => scope.replace(":", "-");

const KEYS: readonly KeySpec[] = [
  { id: "admin", scopes: ["admin"] },
  ...PLAIN_SCOPES.map((scope) => ({ id: keyIdOf(scope), scopes: [scope] })),
  { id: "team-a", scopes: [...PLAIN_SCOPES], clusters: [A] },
  { id: "team-a-admin", scopes: ["admin"], clusters: [A] },
];

/** Every RPC answering the same outcome. */
const all = (outcome: string): Record<RpcName, string> => Object.fromEntries(RPC_NAMES.map((name) => [name, outcome])) as Record<RpcName, string>;

let counter = 0;
const fresh = (prefix: string): string => `${prefix}-${++counter}`;

function budget(id: string, clusterId: string, units: number, thresholds: number[] = []): CostBudget {
  return create(CostBudgetSchema, { id, clusterId, amount: usd(units), period: BudgetPeriod.MONTHLY, alertThresholds: thresholds });
}

describe("access control over a real socket: key x scope x cluster x RPC", () => {
  let env: SecurityServer;
  let admin: CostClient;
  /** An alert of cluster A acknowledged only in the acknowledged_by test. */
  let ackByAlert: string;
  /** An alert of cluster A the matrix acknowledges (idempotent, so any number of times). */
  let matrixAlert: string;
  let alertsB: string[];

  /** A valid call of each RPC touching only cluster A; each returns once the call has fully answered. */
  const calls: Record<RpcName, (client: CostClient) => Promise<unknown>> = {
    RecordCost: (c) => c.recordCost({ record: costRecord({ id: fresh("matrix"), clusterId: A, atMs: NOW - MINUTE }) }),
    RecordCosts: (c) => c.recordCosts(recordBatches([[costRecord({ id: fresh("matrix-stream"), clusterId: A, atMs: NOW - MINUTE })]])),
    GetCostSummary: (c) => c.getCostSummary({ clusterId: A }),
    ListCostSummaries: (c) => c.listCostSummaries({}),
    GetCostBreakdown: (c) => c.getCostBreakdown({ dimension: CostDimension.PROVIDER }),
    GetCostSeries: (c) => c.getCostSeries({}),
    ExportCosts: (c) => exportAll(c, {}),
    SetBudget: (c) => c.setBudget({ budget: budget(fresh("matrix-budget"), A, 1_000_000) }),
    GetBudget: (c) => c.getBudget({ budgetId: "budget-a" }),
    ListBudgets: (c) => c.listBudgets({}),
    DeleteBudget: async (c) => {
      const id = fresh("doomed");
      await admin.setBudget({ budget: budget(id, A, 1_000_000) });
      return c.deleteBudget({ budgetId: id });
    },
    GetBudgetStatus: (c) => c.getBudgetStatus({ budgetId: "budget-a" }),
    ListAlerts: (c) => c.listAlerts({}),
    AcknowledgeAlert: (c) => c.acknowledgeAlert({ alertId: matrixAlert }),
    WatchAlerts: async (c) => {
      const first = await firstWatchMessage(c, { includeActive: true });
      if (first === undefined) throw new Error("WatchAlerts ended without a message");
      return first;
    },
    ListAuditEvents: (c) => c.listAuditEvents({}),
  };

  /** The outcome of every RPC for one client, called one after the other. */
  async function matrixRow(client: CostClient): Promise<Record<RpcName, string>> {
    const row = {} as Record<RpcName, string>;
    for (const name of RPC_NAMES) row[name] = await outcomeOf(calls[name](client));
    return row;
  }

  const clientWith = (options: ClientOptions): CostClient => env.client(options);

  beforeAll(async () => {
    env = await startSecurityServer({ nowMs: NOW, keys: KEYS });
    admin = env.client({ key: env.key("admin") });
    const seed = (clusterId: string, providers: string[]): CostRecord[] =>
      providers.map((provider, i) => costRecord({ id: `seed-${clusterId}-${i}`, clusterId, provider, cost: usd(1), atMs: NOW - (i + 1) * MINUTE }));
    await admin.recordCosts(recordBatches([seed(A, ["openai", "anthropic", "openai", "cohere", "openai"]), seed(B, ["mistral", "openai", "mistral", "google"])]));
    // Spend (5 and 4 USD) is already past every threshold of a 1 USD budget: SetBudget raises the alerts before it returns.
    const thresholds = [10, 20, 30, 40, 50, 60, 70, 80, 90];
    await admin.setBudget({ budget: budget("budget-a", A, 1, thresholds) });
    await admin.setBudget({ budget: budget("budget-b", B, 1, thresholds) });
    const alertIds = async (clusterId: string): Promise<string[]> =>
      (await admin.listAlerts({ clusterId, state: AlertState.ALL, pageSize: 500 })).alerts.map((a) => a.id).sort();
    const alertsA = await alertIds(A);
    alertsB = await alertIds(B);
    expect(alertsA.length).toBeGreaterThanOrEqual(10);
    expect(alertsB.length).toBeGreaterThanOrEqual(10);
    [ackByAlert, matrixAlert] = alertsA as [string, string];
  });

  afterAll(async () => {
    await env?.close();
  });

  describe("authentication", () => {
    it.each(["grpc", "connect"] as const)("answers UNAUTHENTICATED to every RPC when no key is sent (%s)", async (protocol) => {
      expect(await matrixRow(clientWith({ protocol }))).toEqual(all("UNAUTHENTICATED"));
    });

    const badCredentials: ReadonlyArray<[string, (env: SecurityServer) => Record<string, string>]> = [
      ["a wrong secret for a known id", (e) => ({ authorization: `Bearer admin.${e.key("costs-read").split(".")[1] ?? ""}` })],
      ["an unknown key id with a real secret", (e) => ({ authorization: `Bearer ghost.${e.key("admin").split(".")[1] ?? ""}` })],
      ["a key without its secret part", () => ({ authorization: "Bearer admin" })],
      ["a key with an empty secret", () => ({ authorization: "Bearer admin." })],
      ["a key longer than 256 characters", (e) => ({ authorization: `Bearer ${e.key("admin")}${"x".repeat(300)}` })],
      ["Basic instead of Bearer", (e) => ({ authorization: `Basic ${Buffer.from(e.key("admin")).toString("base64")}` })],
      ["Bearer without a token", () => ({ authorization: "Bearer" })],
      ["two tokens after Bearer", (e) => ({ authorization: `Bearer ${e.key("admin")} ${e.key("admin")}` })],
      ["a bare key in authorization (no scheme)", (e) => ({ authorization: e.key("admin") })],
      ["an empty x-api-key", () => ({ "x-api-key": "" })],
      ["a wrong secret in x-api-key", () => ({ "x-api-key": "admin.not-the-secret" })],
    ];
    it.each(badCredentials)("answers UNAUTHENTICATED to every RPC for %s (grpc and connect)", async (_name, headers) => {
      for (const protocol of ["grpc", "connect"] as const) {
        expect({ protocol, row: await matrixRow(clientWith({ protocol, rawHeaders: headers(env) })) }).toEqual({ protocol, row: all("UNAUTHENTICATED") });
      }
    });

    it.each(["grpc", "connect"] as const)("accepts the key in authorization: Bearer and in x-api-key for every RPC (%s)", async (protocol) => {
      const key = env.key("admin");
      expect(await matrixRow(clientWith({ protocol, key }))).toEqual(all("OK"));
      expect(await matrixRow(clientWith({ protocol, key, header: "x-api-key" }))).toEqual(all("OK"));
      expect(await matrixRow(clientWith({ protocol, rawHeaders: { authorization: `bearer ${key}` } }))).toEqual(all("OK"));
    });

    it("accepts both headers in plain Connect requests made with fetch", async () => {
      const post = async (headers: Record<string, string>, clusterId = A): Promise<{ status: number; code?: string }> => {
        const response = await fetch(`${env.url}/dreamnet.cost.v1.CostService/GetCostSummary`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ clusterId }),
        });
        const body = (await response.json()) as { code?: string };
        return { status: response.status, ...(body.code ? { code: body.code } : {}) };
      };
      expect(await post({ authorization: `Bearer ${env.key("costs-read")}` })).toEqual({ status: 200 });
      expect(await post({ "x-api-key": env.key("costs-read") })).toEqual({ status: 200 });
      expect(await post({})).toEqual({ status: 401, code: "unauthenticated" });
      expect(await post({ "x-api-key": "costs-read.wrong" })).toEqual({ status: 401, code: "unauthenticated" });
      expect(await post({ "x-api-key": env.key("budgets-read") })).toEqual({ status: 403, code: "permission_denied" });
      expect(await post({ "x-api-key": env.key("team-a") }, B)).toEqual({ status: 403, code: "permission_denied" });
    });

    it("keeps gRPC health checking and reflection open without a key", async () => {
      const probe = createGrpcJsProbe(env.url);
      try {
        expect(await probe.healthCheck("")).toBe("SERVING");
        expect(await probe.healthCheck("dreamnet.cost.v1.CostService")).toBe("SERVING");
        expect(await probe.listServices()).toEqual(expect.arrayContaining(["dreamnet.cost.v1.CostService", "grpc.health.v1.Health"]));
      } finally {
        probe.close();
      }
      const healthz = await fetch(`${env.url}/healthz`);
      expect({ status: healthz.status, body: await healthz.text() }).toEqual({ status: 200, body: "ok\n" });
    });
  });

  describe("scopes", () => {
    it("lets admin call every RPC", async () => {
      expect(await matrixRow(env.client({ key: env.key("admin") }))).toEqual(all("OK"));
    });

    it.each(PLAIN_SCOPES)("lets a key with only %s call exactly the RPCs needing that scope; PERMISSION_DENIED elsewhere", async (scope) => {
      const expected = Object.fromEntries(RPC_NAMES.map((name) => [name, RPC_SCOPES[name] === scope ? "OK" : "PERMISSION_DENIED"]));
      expect(await matrixRow(env.client({ key: env.key(keyIdOf(scope)) }))).toEqual(expected);
    });

    it("needs admin for ListAuditEvents even with every other scope", async () => {
      expect(await matrixRow(env.client({ key: env.key("team-a") }))).toEqual({ ...all("OK"), ListAuditEvents: "PERMISSION_DENIED" });
    });

    it("records the acknowledging key's id as acknowledged_by and keeps the first acknowledgment", async () => {
      const first = await env.client({ key: env.key("alerts-ack") }).acknowledgeAlert({ alertId: ackByAlert, note: "on it" });
      expect(first.newlyAcknowledged).toBe(true);
      expect(first.alert).toMatchObject({ id: ackByAlert, acknowledged: true, acknowledgedBy: "alerts-ack", acknowledgeNote: "on it" });
      const again = await admin.acknowledgeAlert({ alertId: ackByAlert, note: "me too" });
      expect(again.newlyAcknowledged).toBe(false);
      expect(again.alert).toMatchObject({ acknowledgedBy: "alerts-ack", acknowledgeNote: "on it" });
      const listed = (await admin.listAlerts({ clusterId: A, state: AlertState.ACKNOWLEDGED, pageSize: 500 })).alerts.find((a) => a.id === ackByAlert);
      expect(listed?.acknowledgedBy).toBe("alerts-ack");
    });
  });

  describe("a key limited to cluster A", () => {
    let teamA: CostClient;
    beforeAll(() => {
      teamA = env.client({ key: env.key("team-a") });
    });

    const sortedIds = (records: readonly CostRecord[]): string[] => records.map((r) => r.id).sort();

    it("cannot write cluster B: RecordCost, RecordCosts, SetBudget, DeleteBudget, AcknowledgeAlert are PERMISSION_DENIED and change nothing", async () => {
      const before = await exportAll(admin, { clusterId: B });
      const budgetB = (await admin.getBudget({ budgetId: "budget-b" })).budget;
      const alertB = alertsB[0] as string;
      expect({
        recordCost: await outcomeOf(teamA.recordCost({ record: costRecord({ id: "intruder-1", clusterId: B, atMs: NOW - MINUTE }) })),
        recordCosts: await outcomeOf(teamA.recordCosts(recordBatches([[costRecord({ id: "intruder-2", clusterId: B, atMs: NOW - MINUTE })]]))),
        recordCostsMixed: await outcomeOf(
          teamA.recordCosts(recordBatches([[costRecord({ id: "intruder-3", clusterId: A, atMs: NOW - MINUTE }), costRecord({ id: "intruder-4", clusterId: B, atMs: NOW - MINUTE })]])),
        ),
        setBudgetInB: await outcomeOf(teamA.setBudget({ budget: budget("intruder-budget", B, 5) })),
        takeOverBudgetOfB: await outcomeOf(teamA.setBudget({ budget: budget("budget-b", A, 5) })),
        deleteBudgetOfB: await outcomeOf(teamA.deleteBudget({ budgetId: "budget-b" })),
        acknowledgeAlertOfB: await outcomeOf(teamA.acknowledgeAlert({ alertId: alertB })),
      }).toEqual({
        recordCost: "PERMISSION_DENIED",
        recordCosts: "PERMISSION_DENIED",
        recordCostsMixed: "PERMISSION_DENIED",
        setBudgetInB: "PERMISSION_DENIED",
        takeOverBudgetOfB: "PERMISSION_DENIED",
        deleteBudgetOfB: "PERMISSION_DENIED",
        acknowledgeAlertOfB: "PERMISSION_DENIED",
      });
      expect(sortedIds(await exportAll(admin, { clusterId: B }))).toEqual(sortedIds(before));
      expect(sortedIds(await exportAll(admin, {})).filter((id) => id.startsWith("intruder"))).toEqual([]);
      expect((await admin.getBudget({ budgetId: "budget-b" })).budget).toEqual(budgetB);
      expect(await outcomeOf(admin.getBudget({ budgetId: "intruder-budget" }))).toBe("NOT_FOUND");
      const stillActive = (await admin.listAlerts({ clusterId: B, state: AlertState.ALL, pageSize: 500 })).alerts.find((a) => a.id === alertB);
      expect(stillActive).toMatchObject({ acknowledged: false, acknowledgedBy: "" });
    });

    it("cannot read cluster B by name: every RPC with cluster B's id or resource is PERMISSION_DENIED", async () => {
      expect({
        GetCostSummary: await outcomeOf(teamA.getCostSummary({ clusterId: B })),
        GetCostBreakdown: await outcomeOf(teamA.getCostBreakdown({ clusterId: B, dimension: CostDimension.PROVIDER })),
        GetCostSeries: await outcomeOf(teamA.getCostSeries({ clusterId: B })),
        ExportCosts: await outcomeOf(exportAll(teamA, { clusterId: B })),
        GetBudget: await outcomeOf(teamA.getBudget({ budgetId: "budget-b" })),
        GetBudgetStatus: await outcomeOf(teamA.getBudgetStatus({ budgetId: "budget-b" })),
        ListBudgets: await outcomeOf(teamA.listBudgets({ clusterId: B })),
        ListAlerts: await outcomeOf(teamA.listAlerts({ clusterId: B })),
        WatchAlerts: await outcomeOf(firstWatchMessage(teamA, { clusterId: B, includeActive: true })),
        ListAuditEvents: await outcomeOf(env.client({ key: env.key("team-a-admin") }).listAuditEvents({ clusterId: B })),
      }).toEqual({
        GetCostSummary: "PERMISSION_DENIED",
        GetCostBreakdown: "PERMISSION_DENIED",
        GetCostSeries: "PERMISSION_DENIED",
        ExportCosts: "PERMISSION_DENIED",
        GetBudget: "PERMISSION_DENIED",
        GetBudgetStatus: "PERMISSION_DENIED",
        ListBudgets: "PERMISSION_DENIED",
        ListAlerts: "PERMISSION_DENIED",
        WatchAlerts: "PERMISSION_DENIED",
        ListAuditEvents: "PERMISSION_DENIED",
      });
    });

    it("sees only cluster A in ListCostSummaries", async () => {
      expect((await admin.listCostSummaries({})).summaries.map((s) => s.clusterId)).toEqual([A, B]);
      const own = await teamA.listCostSummaries({});
      expect(own.summaries.map((s) => s.clusterId)).toEqual([A]);
      expect(own.summaries[0]).toEqual((await admin.getCostSummary({ clusterId: A })).summary);
    });

    it("sees only cluster A in GetCostBreakdown, GetCostSeries and ExportCosts without cluster_id", async () => {
      const byCluster = await teamA.getCostBreakdown({ dimension: CostDimension.CLUSTER });
      expect(byCluster.entries.map((e) => e.key)).toEqual([A]);
      expect((await admin.getCostBreakdown({ dimension: CostDimension.CLUSTER })).entries.map((e) => e.key).sort()).toEqual([A, B]);
      for (const dimension of [CostDimension.PROVIDER, CostDimension.MODEL]) {
        expect(await teamA.getCostBreakdown({ dimension })).toEqual(await admin.getCostBreakdown({ dimension, clusterId: A }));
      }
      const series = await teamA.getCostSeries({ granularity: SeriesGranularity.HOUR, splitBy: CostDimension.PROVIDER });
      expect(series).toEqual(await admin.getCostSeries({ clusterId: A, granularity: SeriesGranularity.HOUR, splitBy: CostDimension.PROVIDER }));
      expect(series).not.toEqual(await admin.getCostSeries({ granularity: SeriesGranularity.HOUR, splitBy: CostDimension.PROVIDER }));
      const exported = await exportAll(teamA, {});
      expect(new Set(exported.map((r) => r.clusterId))).toEqual(new Set([A]));
      expect(sortedIds(exported)).toEqual(sortedIds(await exportAll(admin, { clusterId: A })));
    });

    it("sees only cluster A's budgets and alerts in ListBudgets and ListAlerts", async () => {
      const budgets = (await teamA.listBudgets({ pageSize: 500 })).budgets;
      expect(new Set(budgets.map((b) => b.clusterId))).toEqual(new Set([A]));
      expect(budgets).toEqual((await admin.listBudgets({ clusterId: A, pageSize: 500 })).budgets);
      expect((await admin.listBudgets({ pageSize: 500 })).budgets.some((b) => b.clusterId === B)).toBe(true);
      for (const state of [AlertState.ACTIVE, AlertState.ALL]) {
        const alerts = (await teamA.listAlerts({ state, pageSize: 500 })).alerts;
        expect(alerts.length).toBeGreaterThan(0);
        expect(new Set(alerts.map((a) => a.clusterId))).toEqual(new Set([A]));
        expect(alerts).toEqual((await admin.listAlerts({ clusterId: A, state, pageSize: 500 })).alerts);
      }
    });

    it("sees only cluster A's events in ListAuditEvents (with admin limited to A)", async () => {
      const events = (await env.client({ key: env.key("team-a-admin") }).listAuditEvents({ pageSize: 500 })).events;
      expect(events.length).toBeGreaterThan(0);
      expect(new Set(events.map((e) => e.clusterId))).toEqual(new Set([A]));
      expect(events).toEqual((await admin.listAuditEvents({ clusterId: A, pageSize: 500 })).events);
      expect((await admin.listAuditEvents({ pageSize: 500 })).events.some((e) => e.clusterId === B)).toBe(true);
    });

    it("sees only cluster A in WatchAlerts: active alerts and live events of B never reach it", async () => {
      const activeA = (await admin.listAlerts({ clusterId: A, pageSize: 500 })).alerts;
      const activeB = (await admin.listAlerts({ clusterId: B, pageSize: 500 })).alerts;
      const markerA = activeA[0]?.id;
      const markerB = activeB.find((a) => a.id !== alertsB[0])?.id;
      if (markerA === undefined || markerB === undefined) throw new Error("seed raised too few alerts");

      const abort = new AbortController();
      const adminAbort = new AbortController();
      const limited = teamA.watchAlerts({ includeActive: true }, { signal: abort.signal })[Symbol.asyncIterator]();
      const unlimited = admin.watchAlerts({ includeActive: true }, { signal: adminAbort.signal })[Symbol.asyncIterator]();
      try {
        const seen: WatchAlertsResponse[] = [];
        // A first message (an active alert) shows each watcher is registered before anything changes.
        const first = await limited.next();
        if (first.done) throw new Error("watch ended at once");
        seen.push(first.value);
        if ((await unlimited.next()).done) throw new Error("admin watch ended at once");
        // Both watchers are live now. A change in B, then one in A that marks the end of what to read.
        await admin.acknowledgeAlert({ alertId: markerB });
        await admin.acknowledgeAlert({ alertId: markerA });
        for (;;) {
          const next = await limited.next();
          if (next.done) throw new Error("watch ended before the marker");
          seen.push(next.value);
          const m = next.value.message;
          if (m.case === "event" && m.value.alert?.id === markerA) break;
        }
        const clusters = seen.flatMap((m) =>
          m.message.case === "activeAlert" ? [m.message.value.clusterId] : m.message.case === "event" ? [m.message.value.alert?.clusterId ?? "?"] : [],
        );
        expect(new Set(clusters)).toEqual(new Set([A]));
        const snapshot = seen.filter((m) => m.message.case === "activeAlert").map((m) => (m.message.value as { id: string }).id).sort();
        expect(snapshot).toEqual(activeA.map((a) => a.id).sort());
        // The unlimited watcher did receive B's event, so the filter is what kept it from the limited one.
        let adminSawB = false;
        for (;;) {
          const next = await unlimited.next();
          if (next.done) break;
          const m = next.value.message;
          if (m.case !== "event") continue;
          if (m.value.alert?.id === markerB) adminSawB = true;
          if (m.value.alert?.id === markerA) break;
        }
        expect(adminSawB).toBe(true);
      } finally {
        abort.abort();
        adminAbort.abort();
      }
    });

    it("can still do everything in its own cluster", async () => {
      expect(await matrixRow(teamA)).toEqual({ ...all("OK"), ListAuditEvents: "PERMISSION_DENIED" });
      expect(await matrixRow(env.client({ key: env.key("team-a-admin") }))).toEqual(all("OK"));
    });
  });
});
