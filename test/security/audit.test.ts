import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AlertKind } from "../../gen/dreamnet/cost/v1/alert_pb.js";
import type { AuditEvent } from "../../gen/dreamnet/cost/v1/audit_pb.js";
import { BudgetPeriod, CostBudgetSchema, type CostBudget } from "../../gen/dreamnet/cost/v1/budget_pb.js";
import { AlertState, type ListAuditEventsRequestSchema } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { timestampFromMs } from "../../src/api/time-mapping.js";
import type { CostClient } from "../../src/client/index.js";
import type { AuditedKey } from "../../src/core/audit.js";
import { MINUTE, NOW, costRecord, usd } from "../support/records.js";
import { outcomeOf, startSecurityServer, type SecurityServer } from "../support/security-server.js";

const CLUSTER = "AUDIT_A";
const OTHER = "AUDIT_B";

const T1 = NOW + 1_000;
const T2 = NOW + 2_000;
const T3 = NOW + 3_000;
const T4 = NOW + 4_000;
const T5 = NOW + 5_000;
const T6 = NOW + 6_000;

function budget(id: string, clusterId: string, units: number, thresholds: number[], timeZone = ""): CostBudget {
  return create(CostBudgetSchema, { id, clusterId, amount: usd(units), period: BudgetPeriod.MONTHLY, alertThresholds: thresholds, timeZone });
}

/** An audit event without its id, with its time as epoch ms and its JSON parsed: what a reader checks. */
function readable(event: AuditEvent) {
  const ms = Number(event.eventTime?.seconds ?? 0n) * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6);
  return {
    atMs: ms,
    actor: event.actor,
    action: event.action,
    resourceType: event.resourceType,
    resourceId: event.resourceId,
    clusterId: event.clusterId,
    before: event.beforeJson === "" ? undefined : (JSON.parse(event.beforeJson) as unknown),
    after: event.afterJson === "" ? undefined : (JSON.parse(event.afterJson) as unknown),
  };
}

describe("audit of budget changes and acknowledgments", () => {
  let env: SecurityServer;
  let admin: CostClient;
  let exceededAlert: string;
  /** Every audited change in commit order, as the calls made them. */
  const made: { action: string; atMs: number }[] = [];

  const list = async (request: MessageInitShape<typeof ListAuditEventsRequestSchema> = {}): Promise<AuditEvent[]> => (await admin.listAuditEvents({ pageSize: 500, ...request })).events;
  const actions = (events: readonly AuditEvent[]): string[] => events.map((e) => `${e.action}@${Number(e.eventTime?.seconds ?? 0n) * 1000 - NOW}`);

  beforeAll(async () => {
    env = await startSecurityServer({
      nowMs: NOW,
      keys: [
        { id: "admin", scopes: ["admin"] },
        { id: "budget-writer", scopes: ["budgets:write", "budgets:read"] },
        { id: "acker", scopes: ["alerts:ack", "alerts:read"] },
        { id: "everything-but-admin", scopes: ["costs:write", "costs:read", "budgets:read", "budgets:write", "alerts:read", "alerts:ack"] },
        { id: "admin-of-other", scopes: ["admin"], clusters: [OTHER] },
      ],
    });
    admin = env.client({ key: env.key("admin") });
    // 150 USD of spend, so a 100 USD budget raises its alerts as soon as it is set.
    await admin.recordCost({ record: costRecord({ id: "spend-1", clusterId: CLUSTER, cost: usd(150), atMs: NOW - MINUTE }) });
  });

  afterAll(async () => {
    await env?.close();
  });

  it("records SetBudget creating a budget: actor, action, resource, no before, the budget after, the clock's time", async () => {
    env.clock.set(T1);
    const writer = env.client({ key: env.key("budget-writer") });
    const response = await writer.setBudget({ budget: budget("budget-audit", CLUSTER, 100, [50], "Europe/Paris") });
    expect(response.created).toBe(true);
    made.push({ action: "budget.create", atMs: T1 });
    const [event, ...older] = await list({ resourceType: "budget" });
    expect(older).toEqual([]);
    expect(readable(event as AuditEvent)).toEqual({
      atMs: T1,
      actor: "budget-writer",
      action: "budget.create",
      resourceType: "budget",
      resourceId: "budget-audit",
      clusterId: CLUSTER,
      before: undefined,
      after: {
        id: "budget-audit",
        clusterId: CLUSTER,
        amount: { currency: "USD", nanos: "100000000000" },
        period: "monthly",
        thresholds: [50],
        enabled: true,
        timeZone: "Europe/Paris",
        createdAtMs: T1,
        updatedAtMs: T1,
      },
    });
  });

  it("records SetBudget replacing a budget with the old budget before and the new one after", async () => {
    env.clock.set(T2);
    const [created] = await list({ resourceId: "budget-audit" });
    const response = await env.client({ key: env.key("budget-writer") }).setBudget({ budget: budget("budget-audit", CLUSTER, 200, [50, 80], "Europe/Paris") });
    expect(response.created).toBe(false);
    made.push({ action: "budget.update", atMs: T2 });
    const [event] = await list({ resourceId: "budget-audit" });
    expect(event?.beforeJson).toBe(created?.afterJson);
    expect(readable(event as AuditEvent)).toMatchObject({
      atMs: T2,
      actor: "budget-writer",
      action: "budget.update",
      resourceType: "budget",
      resourceId: "budget-audit",
      clusterId: CLUSTER,
      before: { amount: { currency: "USD", nanos: "100000000000" }, thresholds: [50], createdAtMs: T1, updatedAtMs: T1 },
      after: { amount: { currency: "USD", nanos: "200000000000" }, thresholds: [50, 80], createdAtMs: T1, updatedAtMs: T2 },
    });
  });

  it("records AcknowledgeAlert once: the alert before and after, by the acknowledging key; a repeat adds nothing", async () => {
    const alerts = (await admin.listAlerts({ clusterId: CLUSTER, state: AlertState.ALL })).alerts;
    const exceeded = alerts.find((a) => a.kind === AlertKind.EXCEEDED);
    if (!exceeded) throw new Error(`expected an EXCEEDED alert, got ${alerts.map((a) => AlertKind[a.kind]).join(", ")}`);
    exceededAlert = exceeded.id;
    const acker = env.client({ key: env.key("acker") });

    env.clock.set(T3);
    expect((await acker.acknowledgeAlert({ alertId: exceededAlert, note: "checked" })).newlyAcknowledged).toBe(true);
    made.push({ action: "alert.acknowledge", atMs: T3 });
    const countAfterFirst = (await list()).length;

    env.clock.set(T4);
    expect((await acker.acknowledgeAlert({ alertId: exceededAlert, note: "again" })).newlyAcknowledged).toBe(false);
    expect((await admin.acknowledgeAlert({ alertId: exceededAlert })).newlyAcknowledged).toBe(false);
    expect((await list()).length).toBe(countAfterFirst);

    const events = await list({ resourceType: "alert" });
    expect(events).toHaveLength(1);
    expect(readable(events[0] as AuditEvent)).toMatchObject({
      atMs: T3,
      actor: "acker",
      action: "alert.acknowledge",
      resourceType: "alert",
      resourceId: exceededAlert,
      clusterId: CLUSTER,
      before: { id: exceededAlert, budgetId: "budget-audit", kind: "exceeded", acknowledged: false, acknowledgedBy: "", acknowledgedAtMs: 0, acknowledgeNote: "" },
      after: { id: exceededAlert, budgetId: "budget-audit", kind: "exceeded", acknowledged: true, acknowledgedBy: "acker", acknowledgedAtMs: T3, acknowledgeNote: "checked" },
    });
  });

  it("records DeleteBudget with the budget before and nothing after", async () => {
    env.clock.set(T5);
    const [updated] = await list({ resourceId: "budget-audit" });
    await env.client({ key: env.key("budget-writer") }).deleteBudget({ budgetId: "budget-audit" });
    made.push({ action: "budget.delete", atMs: T5 });
    const [event] = await list({ resourceId: "budget-audit" });
    expect(event?.beforeJson).toBe(updated?.afterJson);
    expect(readable(event as AuditEvent)).toMatchObject({
      atMs: T5,
      actor: "budget-writer",
      action: "budget.delete",
      resourceType: "budget",
      resourceId: "budget-audit",
      clusterId: CLUSTER,
      after: undefined,
    });
    // A delete of a budget that is gone changes nothing and records nothing.
    expect(await outcomeOf(env.client({ key: env.key("budget-writer") }).deleteBudget({ budgetId: "budget-audit" }))).toBe("NOT_FOUND");
    expect(await list({ resourceId: "budget-audit" })).toHaveLength(3);
  });

  describe("ListAuditEvents", () => {
    beforeAll(async () => {
      env.clock.set(T6);
      await admin.setBudget({ budget: budget("budget-other", OTHER, 1_000_000, []) });
      made.push({ action: "budget.create", atMs: T6 });
    });

    it("lists every change newest first, ids increasing in commit order", async () => {
      const events = await list();
      expect(actions(events)).toEqual([...made].reverse().map((m) => `${m.action}@${m.atMs - NOW}`));
      const ids = events.map((e) => BigInt(e.id));
      expect([...ids].sort((a, b) => (a < b ? 1 : -1))).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it("filters by actor, resource type, resource id and cluster", async () => {
      expect(actions(await list({ actor: "budget-writer" }))).toEqual(["budget.delete@5000", "budget.update@2000", "budget.create@1000"]);
      expect(actions(await list({ actor: "acker" }))).toEqual(["alert.acknowledge@3000"]);
      expect(actions(await list({ actor: "nobody" }))).toEqual([]);
      expect(actions(await list({ resourceType: "alert" }))).toEqual(["alert.acknowledge@3000"]);
      expect(actions(await list({ resourceType: "budget" }))).toEqual(["budget.create@6000", "budget.delete@5000", "budget.update@2000", "budget.create@1000"]);
      expect(actions(await list({ resourceType: "budget", resourceId: "budget-other" }))).toEqual(["budget.create@6000"]);
      expect(actions(await list({ resourceId: exceededAlert }))).toEqual(["alert.acknowledge@3000"]);
      expect(actions(await list({ clusterId: OTHER }))).toEqual(["budget.create@6000"]);
      expect(actions(await list({ clusterId: CLUSTER, actor: "admin" }))).toEqual([]);
    });

    it("filters by time: start inclusive, end exclusive", async () => {
      expect(actions(await list({ startTime: timestampFromMs(T2), endTime: timestampFromMs(T5) }))).toEqual(["alert.acknowledge@3000", "budget.update@2000"]);
      expect(actions(await list({ startTime: timestampFromMs(T5) }))).toEqual(["budget.create@6000", "budget.delete@5000"]);
      expect(actions(await list({ endTime: timestampFromMs(T2) }))).toEqual(["budget.create@1000"]);
      expect(actions(await list({ startTime: timestampFromMs(T6 + 1) }))).toEqual([]);
    });

    it("pages with page_size and next_page_token without gaps or repeats", async () => {
      const all = await list();
      const seen: AuditEvent[] = [];
      let token = "";
      for (let page = 0; page < 10; page++) {
        const response = await admin.listAuditEvents({ pageSize: 2, pageToken: token });
        expect(response.events.length).toBeLessThanOrEqual(2);
        seen.push(...response.events);
        token = response.nextPageToken;
        if (token === "") break;
      }
      expect(token).toBe("");
      expect(seen).toEqual(all);
      // Filters hold across pages.
      const first = await admin.listAuditEvents({ actor: "budget-writer", pageSize: 2 });
      const second = await admin.listAuditEvents({ actor: "budget-writer", pageSize: 2, pageToken: first.nextPageToken });
      expect(actions([...first.events, ...second.events])).toEqual(["budget.delete@5000", "budget.update@2000", "budget.create@1000"]);
      expect(second.nextPageToken).toBe("");
    });

    // Regression: a page ending exactly at the last event carried a token to an empty page.
    it("gives no next_page_token on a last page that is exactly full", async () => {
      const all = await list();
      const response = await admin.listAuditEvents({ pageSize: all.length });
      expect(response.events).toHaveLength(all.length);
      expect(response.nextPageToken).toBe("");
    });

    it("refuses unknown resource types and foreign page tokens with INVALID_ARGUMENT", async () => {
      expect(await outcomeOf(admin.listAuditEvents({ resourceType: "widget" }))).toBe("INVALID_ARGUMENT");
      expect(await outcomeOf(admin.listAuditEvents({ pageToken: "not-a-token" }))).toBe("INVALID_ARGUMENT");
      expect(await outcomeOf(admin.listAuditEvents({ pageToken: Buffer.from(JSON.stringify({ a: "x1" })).toString("base64url") }))).toBe("INVALID_ARGUMENT");
      expect(await outcomeOf(admin.listAuditEvents({ pageSize: 501 }))).toBe("INVALID_ARGUMENT");
    });

    it("needs the admin scope", async () => {
      expect(await outcomeOf(env.client({ key: env.key("everything-but-admin") }).listAuditEvents({}))).toBe("PERMISSION_DENIED");
      expect(await outcomeOf(env.client({ key: env.key("budget-writer") }).listAuditEvents({}))).toBe("PERMISSION_DENIED");
      expect(await outcomeOf(env.client({ key: env.key("acker") }).listAuditEvents({}))).toBe("PERMISSION_DENIED");
      expect(await outcomeOf(env.client({}).listAuditEvents({}))).toBe("UNAUTHENTICATED");
      expect(await outcomeOf(admin.listAuditEvents({}))).toBe("OK");
    });

    it("shows an admin limited to some clusters only their events", async () => {
      const limited = env.client({ key: env.key("admin-of-other") });
      expect(actions((await limited.listAuditEvents({})).events)).toEqual(["budget.create@6000"]);
      expect(await outcomeOf(limited.listAuditEvents({ clusterId: CLUSTER }))).toBe("PERMISSION_DENIED");
    });
  });
});

describe("audit of API key changes (core.audit.recordKeySet)", () => {
  let env: SecurityServer;
  let admin: CostClient;

  const keyEvents = async () =>
    (await admin.listAuditEvents({ resourceType: "api_key", pageSize: 500 })).events.map((e) => readable(e)).reverse();

  const alpha: AuditedKey = { id: "alpha", fingerprint: "aaaa1111", scopes: ["costs:read"], clusters: undefined };
  const beta: AuditedKey = { id: "beta", fingerprint: "bbbb2222", scopes: ["admin"], clusters: ["C1"] };
  const gamma: AuditedKey = { id: "gamma", fingerprint: "cccc3333", scopes: ["alerts:read"], clusters: ["C1", "C2"] };

  beforeAll(async () => {
    env = await startSecurityServer({ nowMs: NOW, keys: [{ id: "admin", scopes: ["admin"] }] });
    admin = env.client({ key: env.key("admin") });
  });

  afterAll(async () => {
    await env?.close();
  });

  it("audits every key of the first set as api_key.add, by the server", async () => {
    env.clock.set(T1);
    const entries = await env.core.audit.recordKeySet([beta, alpha]);
    expect(entries.map((e) => `${e.action} ${e.resourceId}`)).toEqual(["api_key.add alpha", "api_key.add beta"]);
    expect(await keyEvents()).toEqual([
      { atMs: T1, actor: "server", action: "api_key.add", resourceType: "api_key", resourceId: "alpha", clusterId: "", before: undefined, after: { id: "alpha", fingerprint: "aaaa1111", scopes: ["costs:read"] } },
      { atMs: T1, actor: "server", action: "api_key.add", resourceType: "api_key", resourceId: "beta", clusterId: "", before: undefined, after: { id: "beta", fingerprint: "bbbb2222", scopes: ["admin"], clusters: ["C1"] } },
    ]);
  });

  it("audits nothing when the set is unchanged, whatever its order", async () => {
    env.clock.set(T2);
    expect(await env.core.audit.recordKeySet([alpha, beta])).toEqual([]);
    expect(await env.core.audit.recordKeySet([beta, alpha])).toEqual([]);
    expect(await keyEvents()).toHaveLength(2);
  });

  it("audits a changed key as api_key.update, a new one as api_key.add and a missing one as api_key.remove", async () => {
    env.clock.set(T3);
    const widened: AuditedKey = { ...alpha, scopes: ["costs:read", "costs:write"] };
    const entries = await env.core.audit.recordKeySet([widened, gamma]);
    expect(entries.map((e) => `${e.action} ${e.resourceId}`).sort()).toEqual(["api_key.add gamma", "api_key.remove beta", "api_key.update alpha"]);
    const events = (await keyEvents()).slice(2);
    expect(events.map((e) => ({ ...e, atMs: e.atMs - NOW })).sort((a, b) => a.resourceId.localeCompare(b.resourceId))).toEqual([
      {
        atMs: 3_000,
        actor: "server",
        action: "api_key.update",
        resourceType: "api_key",
        resourceId: "alpha",
        clusterId: "",
        before: { id: "alpha", fingerprint: "aaaa1111", scopes: ["costs:read"] },
        after: { id: "alpha", fingerprint: "aaaa1111", scopes: ["costs:read", "costs:write"] },
      },
      { atMs: 3_000, actor: "server", action: "api_key.remove", resourceType: "api_key", resourceId: "beta", clusterId: "", before: { id: "beta", fingerprint: "bbbb2222", scopes: ["admin"], clusters: ["C1"] }, after: undefined },
      { atMs: 3_000, actor: "server", action: "api_key.add", resourceType: "api_key", resourceId: "gamma", clusterId: "", before: undefined, after: { id: "gamma", fingerprint: "cccc3333", scopes: ["alerts:read"], clusters: ["C1", "C2"] } },
    ]);
  });

  it("audits a rotated secret (new fingerprint) as api_key.update and then nothing", async () => {
    env.clock.set(T4);
    const widened: AuditedKey = { ...alpha, scopes: ["costs:read", "costs:write"] };
    const rotated: AuditedKey = { ...gamma, fingerprint: "dddd4444" };
    expect((await env.core.audit.recordKeySet([widened, rotated])).map((e) => `${e.action} ${e.resourceId}`)).toEqual(["api_key.update gamma"]);
    env.clock.set(T5);
    expect(await env.core.audit.recordKeySet([rotated, widened])).toEqual([]);
    const all = await keyEvents();
    expect(all).toHaveLength(6);
    expect(JSON.stringify(all)).not.toMatch(/secret/i);
  });

  it("keeps API key events from admins limited to clusters (they belong to no cluster)", async () => {
    const limited = await startSecurityServer({ nowMs: NOW, keys: [{ id: "admin", scopes: ["admin"] }, { id: "c1-admin", scopes: ["admin"], clusters: ["C1"] }] });
    try {
      await limited.core.audit.recordKeySet([alpha, beta]);
      expect((await limited.client({ key: limited.key("admin") }).listAuditEvents({ resourceType: "api_key" })).events).toHaveLength(2);
      expect((await limited.client({ key: limited.key("c1-admin") }).listAuditEvents({ resourceType: "api_key" })).events).toEqual([]);
    } finally {
      await limited.close();
    }
  });
});
