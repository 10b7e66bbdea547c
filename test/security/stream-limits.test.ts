import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BudgetPeriod, CostBudgetSchema } from "../../gen/dreamnet/cost/v1/budget_pb.js";
import type { RecordCostsRequestSchema, RecordCostsResponse, WatchAlertsResponse } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import type { CostClient } from "../../src/client/index.js";
import { MINUTE, NOW, costRecord, usd } from "../support/records.js";
import { exportAll } from "../support/rpc-helpers.js";
import { createPushable } from "../support/alerts-server.js";
import { eventually, outcomeOf, startSecurityServer, type SecurityServer } from "../support/security-server.js";

type RecordCostsInit = MessageInitShape<typeof RecordCostsRequestSchema>;

/** A WatchAlerts stream held open after its first message. */
interface OpenWatch {
  readonly first: WatchAlertsResponse;
  close(): void;
}

/** Opens WatchAlerts with include_active and waits for the first message (an active alert), so the server has admitted it. */
async function openWatch(client: CostClient): Promise<OpenWatch> {
  const abort = new AbortController();
  const iterator = client.watchAlerts({ includeActive: true }, { signal: abort.signal })[Symbol.asyncIterator]();
  try {
    const first = await iterator.next();
    if (first.done) throw new Error("WatchAlerts ended without a message");
    return { first: first.value, close: () => abort.abort() };
  } catch (error) {
    abort.abort();
    throw error;
  }
}

/** The code and message a refused attempt gets, or "OK" (the watch is then closed). */
async function tryWatch(client: CostClient): Promise<{ code: string; message: string }> {
  try {
    (await openWatch(client)).close();
    return { code: "OK", message: "" };
  } catch (error) {
    const e = ConnectError.from(error);
    return { code: Code[e.code], message: e.rawMessage };
  }
}

describe("stream limits { maxStreamsPerKey: 2, maxWatchers: 3 }", () => {
  let env: SecurityServer;
  const opened: OpenWatch[] = [];
  const as = (id: string): CostClient => env.client({ key: env.key(id) });

  beforeEach(async () => {
    env = await startSecurityServer({
      nowMs: NOW,
      streamLimits: { maxStreamsPerKey: 2, maxWatchers: 3 },
      keys: [
        { id: "admin", scopes: ["admin"] },
        ...["w1", "w2", "w3"].map((id) => ({ id, scopes: ["alerts:read", "costs:read", "costs:write"] as const })),
      ],
    });
    // One active alert, so every watcher with include_active gets a first message at once.
    const admin = as("admin");
    await admin.recordCost({ record: costRecord({ id: "spend", clusterId: "LIMITS", cost: usd(5), atMs: NOW - MINUTE }) });
    await admin.setBudget({ budget: create(CostBudgetSchema, { id: "small", clusterId: "LIMITS", amount: usd(1), period: BudgetPeriod.MONTHLY }) });
  });

  afterEach(async () => {
    for (const watch of opened.splice(0)) watch.close();
    await env.close();
  });

  const hold = async (id: string): Promise<OpenWatch> => {
    const watch = await openWatch(as(id));
    opened.push(watch);
    return watch;
  };

  /** Holds a watch once the server admits it: a slot frees only when the server has seen the cancel of an earlier stream. */
  const holdWhenAdmitted = async (id: string): Promise<OpenWatch | undefined> => {
    let watch: OpenWatch | undefined;
    await eventually(async () => {
      try {
        watch = await hold(id);
        return true;
      } catch (error) {
        if (ConnectError.from(error).code === Code.ResourceExhausted) return false;
        throw error;
      }
    });
    return watch;
  };

  it("refuses a key's third concurrent stream with RESOURCE_EXHAUSTED and accepts one again after one ends", async () => {
    const first = await hold("w1");
    await hold("w1");
    expect(await tryWatch(as("w1"))).toEqual({ code: "ResourceExhausted", message: 'API key "w1" already has 2 open streams (limit 2); close some or retry later' });
    // Streams of every kind count against the key; unary calls do not.
    expect(await outcomeOf(exportAll(as("w1"), {}))).toBe("RESOURCE_EXHAUSTED");
    expect(await outcomeOf(as("w1").getCostSummary({ clusterId: "LIMITS" }))).toBe("OK");
    // Another key is not affected.
    expect(await outcomeOf(exportAll(as("w2"), {}))).toBe("OK");

    first.close();
    const replacement = await holdWhenAdmitted("w1");
    expect(replacement?.first.message.case).toBe("activeAlert");
    // Two open again: the limit holds for the replacement too.
    expect((await tryWatch(as("w1"))).code).toBe("ResourceExhausted");
  });

  it("counts client streams (RecordCosts) held open, and frees their slots when they end", async () => {
    const streams = [createPushable<RecordCostsInit>(), createPushable<RecordCostsInit>()];
    const responses: Promise<RecordCostsResponse>[] = streams.map((s, i) => {
      s.push({ records: [costRecord({ id: `held-${i}`, clusterId: "LIMITS", atMs: NOW - MINUTE })] });
      return as("w1").recordCosts(s);
    });
    // The two uploads are admitted once their headers reach the server.
    expect(await eventually(async () => (await outcomeOf(exportAll(as("w1"), {}))) === "RESOURCE_EXHAUSTED")).toBe(true);
    for (const s of streams) s.end();
    expect((await Promise.all(responses)).map((r) => r.acceptedCount)).toEqual([1n, 1n]);
    expect(await eventually(async () => (await outcomeOf(exportAll(as("w1"), {}))) === "OK")).toBe(true);
  });

  it("frees the slot of streams that end, normally or with an error", async () => {
    const w3 = as("w3");
    for (let i = 0; i < 5; i++) expect(await outcomeOf(exportAll(w3, {}))).toBe("OK");
    for (let i = 0; i < 5; i++) expect(await outcomeOf(exportAll(w3, { clusterId: "not a cluster id" }))).toBe("INVALID_ARGUMENT");
    for (let i = 0; i < 5; i++) {
      expect(await outcomeOf(w3.recordCosts((async function* () { yield { records: [costRecord({ id: `ended-${i}`, clusterId: "LIMITS", atMs: NOW - MINUTE })] }; })()))).toBe("OK");
    }
    for (let i = 0; i < 5; i++) expect((await tryWatch(w3)).code).toBe("OK");
    expect(await holdWhenAdmitted("w3")).toBeDefined();
    expect(await holdWhenAdmitted("w3")).toBeDefined();
    expect((await tryWatch(w3)).code).toBe("ResourceExhausted");
  });

  it("refuses watchers beyond the server's cap with RESOURCE_EXHAUSTED, whatever the key, and admits one when another ends", async () => {
    const firstOfW1 = await hold("w1");
    await hold("w1");
    await hold("w2");
    expect(await tryWatch(as("w2"))).toEqual({ code: "ResourceExhausted", message: "the server already has 3 alert watchers (limit 3); retry later" });
    expect((await tryWatch(as("w3"))).code).toBe("ResourceExhausted");
    expect((await tryWatch(as("admin"))).code).toBe("ResourceExhausted");
    // The cap is on watchers only: other streams of a key under its own limit go on.
    expect(await outcomeOf(exportAll(as("w3"), {}))).toBe("OK");

    firstOfW1.close();
    expect(await holdWhenAdmitted("w3")).toBeDefined();
    expect((await tryWatch(as("w2"))).code).toBe("ResourceExhausted");
  });
});
