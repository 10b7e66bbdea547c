import http from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RecordOutcome } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import {
  backoffDelayMs,
  createCostClient,
  DEFAULT_RETRY_OPTIONS,
  METHOD_RETRY_SAFETY,
  recordCostsWithRetry,
  type CostClient,
  type RecordCostsMessage,
  type RetryEvent,
  type RetryOptions,
} from "../../src/client/index.js";
import { wireBudget } from "../support/alerts-server.js";
import { connectErrorOf } from "../support/rpc-helpers.js";
import { chunks, costRecord, NOW } from "../support/records.js";
import { startTestServer, type TestServer } from "../support/start-test-server.js";
import { startFlakyProxy, type FlakyProxy } from "./flaky-proxy.js";

describe("backoffDelayMs()", () => {
  const options = (random: number): RetryOptions => ({ ...DEFAULT_RETRY_OPTIONS, initialBackoffMs: 100, maxBackoffMs: 1_000, backoffMultiplier: 2, random: () => random });

  it("doubles the bound on every retry up to the cap, keeping at least half of it (equal jitter)", () => {
    expect([1, 2, 3, 4, 5, 6].map((retry) => backoffDelayMs(retry, options(0)))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 6].map((retry) => backoffDelayMs(retry, options(0.999_999)))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });
});

describe("METHOD_RETRY_SAFETY", () => {
  it("repeats ingestion, reads, SetBudget and AcknowledgeAlert, and never DeleteBudget or VerifyStore", () => {
    expect(METHOD_RETRY_SAFETY.recordCost).toBe("idempotent");
    expect(METHOD_RETRY_SAFETY.setBudget).toBe("idempotent");
    expect(METHOD_RETRY_SAFETY.acknowledgeAlert).toBe("idempotent");
    expect(METHOD_RETRY_SAFETY.getCostSummary).toBe("read");
    expect(METHOD_RETRY_SAFETY.deleteBudget).toBe("not-idempotent");
    expect(METHOD_RETRY_SAFETY.verifyStore).toBe("expensive");
    expect(METHOD_RETRY_SAFETY.recordCosts).toBe("stream");
  });
});

describe.each(["grpc", "connect"] as const)("createCostClient({ retry }) over %s through a flaky connection", (protocol) => {
  let env: TestServer;
  let proxy: FlakyProxy;
  let retries: RetryEvent[] = [];
  let client: CostClient;

  const fastRetry = (extra: Partial<RetryOptions> = {}): Partial<RetryOptions> => ({
    initialBackoffMs: 5,
    maxBackoffMs: 20,
    onRetry: (event) => retries.push(event),
    ...extra,
  });

  beforeAll(async () => {
    env = await startTestServer({ nowMs: NOW });
    proxy = await startFlakyProxy({ host: "127.0.0.1", port: env.port }, { delayMs: 400 });
  });
  afterAll(async () => {
    await proxy?.close();
    await env?.close();
  });
  afterEach(() => {
    retries = [];
    proxy.clearPlan();
  });
  // Each test gets its own client, hence its own connection through the proxy.
  // No keep-alive over HTTP/1.1, so each call opens the connection the proxy was told about.
  const newClient = (retry?: Partial<RetryOptions>): CostClient =>
    createCostClient({ baseUrl: proxy.url, protocol, retry, agent: new http.Agent({ keepAlive: false }) });

  it("repeats RecordCost after a refused connection and stores the record once", async () => {
    client = newClient(fastRetry());
    const record = costRecord({ clusterId: `REFUSED_${protocol}` });
    proxy.plan("refuse");

    const response = await client.recordCost({ record });

    expect(response.outcome).toBe(RecordOutcome.ACCEPTED);
    expect(retries.map((r) => [r.method, r.attempt, Code[r.error.code]])).toEqual([["RecordCost", 1, "Unavailable"]]);
    expect((await env.client("grpc").getCostSummary({ clusterId: `REFUSED_${protocol}` })).summary?.recordCount).toBe(1n);
  });

  it("repeats RecordCost whose answer was lost after the commit: the repeat is a duplicate and the record counts once", async () => {
    client = newClient(fastRetry());
    const record = costRecord({ clusterId: `LOST_${protocol}` });
    proxy.plan("lose-response");

    const response = await client.recordCost({ record });

    expect(response.outcome).toBe(RecordOutcome.DUPLICATE);
    expect(retries.map((r) => Code[r.error.code])).toEqual(["Unavailable"]);
    const summary = (await env.client("grpc").getCostSummary({ clusterId: `LOST_${protocol}` })).summary;
    expect(summary?.recordCount).toBe(1n);
    expect(summary?.currencies[0]?.totalCost).toMatchObject({ units: 0n, nanos: 2_000_000 });
  });

  it("repeats an attempt that outlives attemptTimeoutMs (DEADLINE_EXCEEDED) and counts the record once", async () => {
    client = newClient(fastRetry({ attemptTimeoutMs: 150 }));
    const record = costRecord({ clusterId: `SLOW_${protocol}` });
    proxy.plan("delay");

    const response = await client.recordCost({ record });

    expect([RecordOutcome.ACCEPTED, RecordOutcome.DUPLICATE]).toContain(response.outcome);
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries[0] && Code[retries[0].error.code]).toBe("DeadlineExceeded");
    expect((await env.client("grpc").getCostSummary({ clusterId: `SLOW_${protocol}` })).summary?.recordCount).toBe(1n);
  });

  it("repeats reads (GetCostSummary) after UNAVAILABLE", async () => {
    client = newClient(fastRetry());
    await env.client("grpc").recordCost({ record: costRecord({ clusterId: `READ_${protocol}` }) });
    proxy.plan("refuse");

    const response = await client.getCostSummary({ clusterId: `READ_${protocol}` });

    expect(response.summary?.recordCount).toBe(1n);
    expect(retries).toHaveLength(1);
  });

  it("gives up after maxAttempts and throws the last UNAVAILABLE", async () => {
    client = newClient(fastRetry({ maxAttempts: 3 }));
    proxy.plan("refuse", "refuse", "refuse");
    const before = proxy.connections;

    const error = await connectErrorOf(client.recordCost({ record: costRecord({ clusterId: `GIVE_UP_${protocol}` }) }));

    expect(Code[error.code]).toBe("Unavailable");
    expect(retries.map((r) => r.attempt)).toEqual([1, 2]);
    expect(proxy.connections - before).toBe(3);
  });

  it("never repeats DeleteBudget: a lost success would come back as NOT_FOUND", async () => {
    await env.client("grpc").setBudget({ budget: wireBudget({ id: `budget-${protocol}`, clusterId: `DELETE_${protocol}` }) });
    client = newClient(fastRetry());
    proxy.plan("lose-response");

    const error = await connectErrorOf(client.deleteBudget({ budgetId: `budget-${protocol}` }));

    expect(Code[error.code]).toBe("Unavailable");
    expect(retries).toEqual([]);
    // The server did delete it: a blind repeat would have answered NOT_FOUND.
    expect(Code[(await connectErrorOf(env.client("grpc").getBudget({ budgetId: `budget-${protocol}` }))).code]).toBe("NotFound");
  });

  it("does not repeat INVALID_ARGUMENT", async () => {
    client = newClient(fastRetry());
    const record = costRecord({ clusterId: "bad cluster" });

    const error = await connectErrorOf(client.recordCost({ record }));

    expect(Code[error.code]).toBe("InvalidArgument");
    expect(retries).toEqual([]);
  });

  it("without retry options fails at once, as before", async () => {
    client = newClient();
    proxy.plan("refuse");

    const error = await connectErrorOf(client.recordCost({ record: costRecord({ clusterId: `NO_RETRY_${protocol}` }) }));

    expect(Code[error.code]).toBe("Unavailable");
    await expect(env.client("grpc").getCostSummary({ clusterId: `NO_RETRY_${protocol}` })).rejects.toBeInstanceOf(ConnectError);
  });

  describe("recordCostsWithRetry()", () => {
    it("re-sends the whole stream after its answer was lost: every record is counted once", async () => {
      client = newClient();
      const clusterId = `STREAM_LOST_${protocol}`;
      const records = Array.from({ length: 2_500 }, () => costRecord({ clusterId }));
      const messages: RecordCostsMessage[] = chunks(records, 500).map((batch) => ({ records: batch }));
      proxy.plan("lose-response");

      const response = await recordCostsWithRetry(client, messages, { retry: fastRetry() });

      expect(retries.map((r) => [r.method, Code[r.error.code]])).toEqual([["RecordCosts", "Unavailable"]]);
      expect({ accepted: response.acceptedCount, duplicates: response.duplicateCount, rejected: response.rejectedCount }).toEqual({
        accepted: 0n,
        duplicates: 2_500n,
        rejected: 0n,
      });
      const summary = (await env.client("grpc").getCostSummary({ clusterId })).summary;
      expect(summary?.recordCount).toBe(2_500n);
      expect(summary?.currencies[0]?.totalCost).toMatchObject({ units: 5n, nanos: 0 });
    });

    it("starts a factory's sequence afresh for every attempt", async () => {
      client = newClient();
      const clusterId = `STREAM_FACTORY_${protocol}`;
      const records = Array.from({ length: 30 }, () => costRecord({ clusterId }));
      let started = 0;
      async function* messages(): AsyncGenerator<RecordCostsMessage> {
        started++;
        for (const batch of chunks(records, 10)) yield { records: batch };
      }
      proxy.plan("refuse", "lose-response");

      const response = await recordCostsWithRetry(client, messages, { retry: fastRetry() });

      expect(retries.map((r) => Code[r.error.code])).toEqual(["Unavailable", "Unavailable"]);
      expect(started).toBe(3);
      expect(response.acceptedCount + response.duplicateCount).toBe(30n);
      expect((await env.client("grpc").getCostSummary({ clusterId })).summary?.recordCount).toBe(30n);
    });
  });
});
