import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOUR, MINUTE, NOW, chunks, seededRandom } from "../support/records.js";
import { startTestServer, type TestServer } from "../support/start-test-server.js";

/**
 * A client built only from the .proto files, with grpc-js and proto-loader (protobuf.js):
 * nothing of protobuf-es or connect on the client side.
 */

const protoRoot = fileURLToPath(new URL("../../proto", import.meta.url));

type Method = protoLoader.MethodDefinition<object, object>;

function loadCostService(): Record<string, Method> {
  const definitions = protoLoader.loadSync("dreamnet/cost/v1/cost_service.proto", {
    includeDirs: [protoRoot],
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const service = definitions["dreamnet.cost.v1.CostService"];
  if (service === undefined || "format" in service) throw new Error("dreamnet.cost.v1.CostService not found in the .proto files");
  return service as Record<string, Method>;
}

/** A grpc-js error: a status code and the details string as grpc-js decoded it. */
interface GrpcError extends Error {
  readonly code: grpc.status;
  readonly details: string;
}

function isGrpcError(value: unknown): value is GrpcError {
  return value instanceof Error && "code" in value && "details" in value;
}

/** A record as proto-loader takes it: camelCase fields, 64-bit integers as strings. */
interface WireRecord {
  id: string;
  clusterId: string;
  provider: string;
  operation: string;
  model: string;
  cost: { currencyCode: string; units: string; nanos: number };
  timestamp: { seconds: string; nanos: number };
}

function wireRecord(fields: Partial<WireRecord> & { atMs?: number } = {}): WireRecord {
  const atMs = fields.atMs ?? NOW;
  return {
    id: fields.id ?? randomUUID(),
    clusterId: fields.clusterId ?? "GRPC_JS",
    provider: fields.provider ?? "openai",
    operation: fields.operation ?? "chat-completion",
    model: fields.model ?? "gpt-4",
    cost: fields.cost ?? { currencyCode: "USD", units: "0", nanos: 2_000_000 },
    timestamp: fields.timestamp ?? { seconds: String(Math.floor(atMs / 1000)), nanos: (atMs % 1000) * 1_000_000 },
  };
}

describe("interop with a grpc-js client that has only the .proto files", () => {
  const service = loadCostService();
  let env: TestServer;
  let client: grpc.Client;

  const method = (name: string): Method => {
    const found = service[name];
    if (!found) throw new Error(`no method ${name}`);
    return found;
  };

  function unary(name: string, request: object): Promise<Record<string, unknown>> {
    const rpc = method(name);
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(rpc.path, rpc.requestSerialize, rpc.responseDeserialize, request, (error, response) =>
        error ? reject(error) : resolve(response as Record<string, unknown>),
      );
    });
  }

  /** A RecordCosts call: writes each message, ends the stream, resolves with the response. */
  function recordCosts(messages: readonly (readonly WireRecord[])[]): Promise<Record<string, unknown>> {
    const rpc = method("RecordCosts");
    return new Promise((resolve, reject) => {
      const call = client.makeClientStreamRequest(rpc.path, rpc.requestSerialize, rpc.responseDeserialize, (error, response) =>
        error ? reject(error) : resolve(response as Record<string, unknown>),
      );
      const write = async (): Promise<void> => {
        for (const records of messages) {
          // Respect back-pressure so large streams do not buffer everything.
          if (!call.write({ records })) await new Promise((drained) => call.once("drain", drained));
        }
        call.end();
      };
      write().catch(reject);
    });
  }

  async function grpcErrorOf(call: Promise<unknown>): Promise<GrpcError> {
    try {
      await call;
    } catch (error) {
      if (isGrpcError(error)) return error;
      throw error;
    }
    throw new Error("expected the call to fail, but it succeeded");
  }

  beforeAll(async () => {
    env = await startTestServer({ nowMs: NOW });
    client = new grpc.Client(`127.0.0.1:${env.port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await env?.close();
  });

  it("records one cost with RecordCost, then reports the same record as a duplicate", async () => {
    const record = wireRecord({ clusterId: "UNARY" });
    expect(await unary("RecordCost", { record })).toEqual({ outcome: "RECORD_OUTCOME_ACCEPTED" });
    expect(await unary("RecordCost", { record })).toEqual({ outcome: "RECORD_OUTCOME_DUPLICATE" });
  });

  it("answers GetCostSummary with exact Money and int64 counts", async () => {
    await unary("RecordCost", { record: wireRecord({ clusterId: "SUMMARY", cost: { currencyCode: "USD", units: "3", nanos: 141_592_653 }, atMs: NOW - HOUR }) });
    const response = await unary("GetCostSummary", { clusterId: "SUMMARY" });
    const amount = { currencyCode: "USD", units: "3", nanos: 141_592_653 };
    expect(response).toMatchObject({
      summary: {
        clusterId: "SUMMARY",
        currencies: [{ currencyCode: "USD", totalCost: amount, costToday: amount, costThisWeek: amount, costThisMonth: amount, recordCount: "1", recordCountToday: "1" }],
        recordCount: "1",
        asOfTime: { seconds: String(NOW / 1000), nanos: 0 },
      },
    });
  });

  it("records several messages of many records with RecordCosts, reporting rejections by stream index", async () => {
    const records = Array.from({ length: 1_200 }, (_, i) => wireRecord({ clusterId: "STREAM", atMs: NOW - i * MINUTE }));
    const bad = wireRecord({ clusterId: "STREAM", id: "bad-nanos", cost: { currencyCode: "USD", units: "1", nanos: -5 } });
    const messages = [records.slice(0, 400), [...records.slice(400, 800), bad], records.slice(800), records.slice(0, 10)];

    const response = await recordCosts(messages);

    expect(response).toMatchObject({ acceptedCount: "1200", duplicateCount: "10", rejectedCount: "1" });
    expect(response["rejected"]).toEqual([
      { index: "800", id: "bad-nanos", field: "cost.nanos", message: "cost.nanos must have the same sign as units", reason: "REJECTION_REASON_INVALID_ARGUMENT" },
    ]);
    const summary = await unary("GetCostSummary", { clusterId: "STREAM" });
    expect(summary).toMatchObject({ summary: { recordCount: "1200", currencies: [{ totalCost: { currencyCode: "USD", units: "2", nanos: 400_000_000 } }] } });
  });

  it("counts 10,000 records sent twice with random ids exactly once", async () => {
    const random = seededRandom(424242);
    const records = Array.from({ length: 10_000 }, () =>
      wireRecord({ clusterId: "ACCEPTANCE", cost: { currencyCode: "USD", units: "0", nanos: 2_000_000 }, atMs: NOW - Math.floor(random() * 20 * HOUR) }),
    );
    const sends = [...records, ...records];
    for (let i = sends.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [sends[i], sends[j]] = [sends[j] as WireRecord, sends[i] as WireRecord];
    }
    const unarySends = sends.slice(0, 1_000);
    const [streamed, unaryOutcomes] = await Promise.all([
      recordCosts(chunks(sends.slice(1_000), 500)),
      Promise.all(unarySends.map(async (record) => (await unary("RecordCost", { record }))["outcome"])),
    ]);

    const unaryAccepted = unaryOutcomes.filter((o) => o === "RECORD_OUTCOME_ACCEPTED").length;
    expect(unaryOutcomes.filter((o) => o === "RECORD_OUTCOME_DUPLICATE")).toHaveLength(1_000 - unaryAccepted);
    expect(streamed["rejectedCount"]).toBe("0");
    expect(Number(streamed["acceptedCount"]) + unaryAccepted).toBe(10_000);
    expect(Number(streamed["duplicateCount"]) + (1_000 - unaryAccepted)).toBe(10_000);

    const twenty = { currencyCode: "USD", units: "20", nanos: 0 };
    expect(await unary("GetCostSummary", { clusterId: "ACCEPTANCE" })).toMatchObject({
      summary: {
        clusterId: "ACCEPTANCE",
        recordCount: "10000",
        currencies: [{ currencyCode: "USD", totalCost: twenty, costToday: twenty, costThisWeek: twenty, costThisMonth: twenty, recordCount: "10000", recordCountToday: "10000" }],
      },
    });
  });

  it("sees INVALID_ARGUMENT with the field named in the details", async () => {
    const error = await grpcErrorOf(unary("RecordCost", { record: wireRecord({ cost: { currencyCode: "USD", units: "0", nanos: 1_000_000_000 } }) }));
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toBe("record.cost.nanos must be between -999999999 and 999999999");

    const currency = await grpcErrorOf(unary("RecordCost", { record: wireRecord({ cost: { currencyCode: "XYZ", units: "1", nanos: 0 } }) }));
    expect(currency.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(currency.details).toBe('record.cost.currency_code must be an ISO 4217 code such as "USD" (got "XYZ")');
  });

  it("sees NOT_FOUND for an unknown cluster", async () => {
    const error = await grpcErrorOf(unary("GetCostSummary", { clusterId: "NOBODY" }));
    expect(error.code).toBe(grpc.status.NOT_FOUND);
    expect(error.details).toBe('cluster "NOBODY" not found');
  });

  // Regression: grpc-js decodes grpc-message with decodeURI; the server now sends the spec's minimal percent-encoding.
  it("shows INVALID_ARGUMENT messages without undecoded percent-escapes", async () => {
    const messages: string[] = [];
    for (const record of [
      wireRecord({ clusterId: "bad id=1" }),
      wireRecord({ atMs: NOW + 10 * MINUTE }),
      { ...wireRecord(), metadata: { fields: { a: { structValue: { fields: { b: { structValue: { fields: { c: { structValue: { fields: { d: { structValue: { fields: { e: { numberValue: 1 } } } } } } } } } } } } } } } },
    ]) {
      const error = await grpcErrorOf(unary("RecordCost", { record }));
      expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
      messages.push(error.details);
    }
    expect(messages).toEqual([
      'record.cluster_id must start with a letter or digit and hold only A-Z a-z 0-9 . _ : - (got "bad id=1")',
      "record.timestamp is 600 s ahead of the server clock; at most 300 s is allowed",
      "record.metadata is nested 5 levels deep; at most 4 are allowed",
    ]);
  });
});
