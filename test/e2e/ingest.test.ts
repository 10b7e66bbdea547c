import { randomUUID } from "node:crypto";
import type { JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { CostRecord } from "../../gen/dreamnet/cost/v1/cost_record_pb.js";
import { RecordOutcome, RejectionReason } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { SeriesGranularity, type CostSummary } from "../../gen/dreamnet/cost/v1/cost_summary_pb.js";
import { timestampFromMs } from "../../src/api/time-mapping.js";
import type { CostClient } from "../../src/client/index.js";
import {
  DAY,
  HOUR,
  MINUTE,
  NOW,
  chunks,
  costRecord,
  mapConcurrent,
  money,
  parts,
  partsOfNanos,
  recordBatches,
  seededRandom,
  usd,
  withChanges,
} from "../support/records.js";
import { connectErrorOf, exportAll, summaryOrNone } from "../support/rpc-helpers.js";
import { startTestServer, type TestServer } from "../support/start-test-server.js";

/** The USD line of a summary, as exact parts. */
function usdLine(summary: CostSummary | undefined) {
  const line = summary?.currencies.find((c) => c.currencyCode === "USD");
  return {
    total: parts(line?.totalCost),
    today: parts(line?.costToday),
    week: parts(line?.costThisWeek),
    month: parts(line?.costThisMonth),
    recordCount: line?.recordCount,
    recordCountToday: line?.recordCountToday,
  };
}

/** Everything a summary says for one currency when all its records are in every window. */
function everyWindow(totalNanos: bigint, count: number) {
  const amount = partsOfNanos(totalNanos);
  return { total: amount, today: amount, week: amount, month: amount, recordCount: BigInt(count), recordCountToday: BigInt(count) };
}

/** A JSON object nested `depth` levels deep: depth 1 is { k: 1 }. */
function nested(depth: number): JsonObject {
  let value: JsonObject = { [`level${depth}`]: 1 };
  for (let level = depth - 1; level >= 1; level--) value = { [`level${level}`]: value };
  return value;
}

/** Metadata whose canonical JSON ({"note":"xx..."}) is exactly `bytes` long. */
function metadataOfBytes(bytes: number) {
  return { note: "x".repeat(bytes - '{"note":""}'.length) };
}

interface MalformedCase {
  readonly name: string;
  /** The field the error must name, as the unary call reports it. */
  readonly field: string;
  readonly make: (clusterId: string) => CostRecord;
}

const MALFORMED: readonly MalformedCase[] = [
  { name: "a missing id", field: "record.id", make: (clusterId) => costRecord({ clusterId, id: "" }) },
  { name: "a cluster id with a space", field: "record.cluster_id", make: () => costRecord({ clusterId: "bad cluster" }) },
  { name: "a cluster id starting with a dash", field: "record.cluster_id", make: () => costRecord({ clusterId: "-leading-dash" }) },
  { name: "a negative cost", field: "record.cost", make: (clusterId) => costRecord({ clusterId, cost: usd(-1, 0) }) },
  { name: "nanos above 999,999,999", field: "record.cost.nanos", make: (clusterId) => costRecord({ clusterId, cost: usd(0, 1_000_000_000) }) },
  { name: "nanos below -999,999,999", field: "record.cost.nanos", make: (clusterId) => costRecord({ clusterId, cost: usd(0, -1_000_000_000) }) },
  { name: "nanos with the opposite sign of units", field: "record.cost.nanos", make: (clusterId) => costRecord({ clusterId, cost: usd(1, -500_000_000) }) },
  { name: 'the unknown currency "XYZ"', field: "record.cost.currency_code", make: (clusterId) => costRecord({ clusterId, cost: money(0, 2_000_000, "XYZ") }) },
  { name: "a lower-case currency", field: "record.cost.currency_code", make: (clusterId) => costRecord({ clusterId, cost: money(0, 2_000_000, "usd") }) },
  { name: "a timestamp 10 minutes ahead of the server clock", field: "record.timestamp", make: (clusterId) => costRecord({ clusterId, atMs: NOW + 10 * MINUTE }) },
  { name: "a timestamp 5 minutes and 1 ms ahead", field: "record.timestamp", make: (clusterId) => costRecord({ clusterId, atMs: NOW + 5 * MINUTE + 1 }) },
  { name: "a timestamp before 2000", field: "record.timestamp", make: (clusterId) => costRecord({ clusterId, atMs: Date.UTC(1999, 11, 31) }) },
  { name: "metadata nested 5 levels deep", field: "record.metadata", make: (clusterId) => costRecord({ clusterId, metadata: nested(5) }) },
  { name: "metadata of 4,097 bytes", field: "record.metadata", make: (clusterId) => costRecord({ clusterId, metadata: metadataOfBytes(4_097) }) },
  { name: "a missing cost", field: "record.cost", make: (clusterId) => withChanges(costRecord({ clusterId }), { cost: undefined }) },
  { name: "a missing timestamp", field: "record.timestamp", make: (clusterId) => withChanges(costRecord({ clusterId }), { timestamp: undefined }) },
];

describe.each(["grpc", "connect"] as const)("CostService ingestion over %s", (protocol) => {
  let env: TestServer;
  let client: CostClient;
  let clusterSeq = 0;
  /** A cluster id no other test uses, so tests do not see each other's records. */
  const freshCluster = (label: string): string => `${label}-${protocol}-${++clusterSeq}`;

  beforeAll(async () => {
    env = await startTestServer({ nowMs: NOW });
    client = env.client(protocol);
  });
  afterAll(async () => {
    await env.close();
  });
  beforeEach(() => {
    env.clock.set(NOW);
  });

  describe("RecordCost", () => {
    it("accepts a new record, then answers DUPLICATE for the same record and counts it once", async () => {
      const clusterId = freshCluster("dup");
      const record = costRecord({ clusterId, cost: usd(0, 2_000_000), atMs: NOW - HOUR });

      expect((await client.recordCost({ record })).outcome).toBe(RecordOutcome.ACCEPTED);
      expect((await client.recordCost({ record })).outcome).toBe(RecordOutcome.DUPLICATE);
      expect((await client.recordCost({ record })).outcome).toBe(RecordOutcome.DUPLICATE);

      expect(usdLine(await summaryOrNone(client, clusterId))).toEqual(everyWindow(2_000_000n, 1));
    });

    it("treats metadata with the same content in another key order as a duplicate", async () => {
      const clusterId = freshCluster("dup-meta");
      const record = costRecord({ clusterId, metadata: { tokens: 12, prompt: { chars: 40, lang: "en" } } });
      const reordered = withChanges(record, { metadata: { prompt: { lang: "en", chars: 40 }, tokens: 12 } });

      expect((await client.recordCost({ record })).outcome).toBe(RecordOutcome.ACCEPTED);
      expect((await client.recordCost({ record: reordered })).outcome).toBe(RecordOutcome.DUPLICATE);
    });

    it("refuses the same id with different content as ALREADY_EXISTS and keeps the stored record", async () => {
      const clusterId = freshCluster("conflict");
      const record = costRecord({ clusterId, cost: usd(0, 2_000_000), atMs: NOW - MINUTE });
      expect((await client.recordCost({ record })).outcome).toBe(RecordOutcome.ACCEPTED);

      for (const changed of [
        withChanges(record, { cost: usd(0, 3_000_000) }),
        withChanges(record, { provider: "anthropic" }),
        withChanges(record, { timestamp: timestampFromMs(NOW - 2 * MINUTE) }),
        withChanges(record, { metadata: { tokens: 1 } }),
      ]) {
        const error = await connectErrorOf(client.recordCost({ record: changed }));
        expect(error.code).toBe(Code.AlreadyExists);
        expect(error.rawMessage).toContain(`record.id "${record.id}"`);
      }

      const stored = await exportAll(client, { clusterId });
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({ id: record.id, provider: "openai", timestamp: record.timestamp });
      expect(stored[0]?.metadata).toBeUndefined();
      expect(parts(stored[0]?.cost)).toEqual(parts(usd(0, 2_000_000)));
      expect(usdLine(await summaryOrNone(client, clusterId))).toEqual(everyWindow(2_000_000n, 1));
    });

    it.each(MALFORMED)("refuses $name with INVALID_ARGUMENT naming $field, and stores nothing", async ({ make, field }) => {
      const clusterId = freshCluster("bad");
      const record = make(clusterId);
      const before = await exportAll(client);

      const error = await connectErrorOf(client.recordCost({ record }));

      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage.startsWith(`${field} `)).toBe(true);
      expect(await summaryOrNone(client, clusterId)).toBeUndefined();
      const after = await exportAll(client);
      expect(after).toHaveLength(before.length);
      expect(after.filter((r) => r.clusterId === record.clusterId || r.id === record.id)).toEqual([]);
    });

    it("refuses a request without a record, naming the field", async () => {
      const error = await connectErrorOf(client.recordCost({}));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toBe("record is required");
    });

    it("accepts records at the limits: 5 minutes ahead, metadata of 4 levels and 4,096 bytes, 128-character ids", async () => {
      const clusterId = freshCluster("limits");
      const atLimits = [
        costRecord({ clusterId, atMs: NOW + 5 * MINUTE }),
        costRecord({ clusterId, metadata: nested(4) }),
        costRecord({ clusterId, metadata: metadataOfBytes(4_096) }),
        costRecord({ clusterId, id: "i".repeat(128) }),
        costRecord({ clusterId, cost: usd(1_000_000_000, 0) }),
      ];
      for (const record of atLimits) expect((await client.recordCost({ record })).outcome).toBe(RecordOutcome.ACCEPTED);
      const summary = await summaryOrNone(client, clusterId);
      expect(summary?.recordCount).toBe(5n);
      // The record 5 minutes ahead counts in the last 24 hours too.
      expect(summary?.currencies[0]?.recordCountToday).toBe(5n);
      expect(parts(summary?.currencies[0]?.costToday)).toEqual(parts(usd(1_000_000_000, 8_000_000)));
    });

    it("uses a string \"model\" in metadata when the model field is empty", async () => {
      const clusterId = freshCluster("meta-model");
      const record = costRecord({ clusterId, model: "", metadata: { model: "gpt-4o-mini", tokens: 3 } });
      await client.recordCost({ record });
      const [stored] = await exportAll(client, { clusterId });
      expect(stored?.model).toBe("gpt-4o-mini");
      expect(stored?.metadata).toEqual({ model: "gpt-4o-mini", tokens: 3 });
    });
  });

  describe("RecordCosts", () => {
    it("counts accepted, duplicate and rejected records across messages, with stream-wide indexes", async () => {
      const clusterId = freshCluster("stream");
      const first = Array.from({ length: 300 }, (_, i) => costRecord({ clusterId, atMs: NOW - i * MINUTE }));
      const conflicting = withChanges(first[7] as CostRecord, { cost: usd(0, 9_000_000) });
      const badNanos = withChanges(first[0] as CostRecord, { id: "bad-nanos", cost: usd(2, -1) });
      const badCurrency = withChanges(first[0] as CostRecord, { id: "bad-currency", cost: money(1, 0, "XYZ") });
      const tooLate = withChanges(first[0] as CostRecord, { id: "too-far-ahead", timestamp: timestampFromMs(NOW + 10 * MINUTE) });
      const noId = withChanges(first[0] as CostRecord, { id: "" });

      // message 0: 300 new records with a bad one at position 150 and at the end
      const message0 = [...first.slice(0, 150), badNanos, ...first.slice(150), badCurrency]; // indexes 0..301
      // message 1: 100 re-sent (duplicates), a conflict, and 50 new
      const fresh = Array.from({ length: 50 }, () => costRecord({ clusterId, cost: usd(0, 500_000_000), atMs: NOW - 2 * DAY }));
      const message1 = [...first.slice(0, 100), conflicting, ...fresh]; // indexes 302..452, conflict at 402
      // message 2: an id-less record first, then a record too far ahead, then the same fresh ones again
      const message2 = [noId, tooLate, ...fresh.slice(0, 10)]; // indexes 453..464

      const response = await client.recordCosts(recordBatches([message0, message1, message2]));

      expect(response.acceptedCount).toBe(350n);
      expect(response.duplicateCount).toBe(110n);
      expect(response.rejectedCount).toBe(5n);
      expect(
        response.rejected.map(({ index, id, field, reason }) => ({ index, id, field, reason })),
      ).toEqual([
        { index: 150n, id: "bad-nanos", field: "cost.nanos", reason: RejectionReason.INVALID_ARGUMENT },
        { index: 301n, id: "bad-currency", field: "cost.currency_code", reason: RejectionReason.INVALID_ARGUMENT },
        { index: 402n, id: first[7]?.id, field: "", reason: RejectionReason.ID_CONFLICT },
        { index: 453n, id: "", field: "id", reason: RejectionReason.INVALID_ARGUMENT },
        { index: 454n, id: "too-far-ahead", field: "timestamp", reason: RejectionReason.INVALID_ARGUMENT },
      ]);
      expect(response.rejected[0]?.message).toBe("cost.nanos must have the same sign as units");
      expect(response.rejected[1]?.message).toContain('"XYZ"');
      expect(response.rejected[4]?.message).toMatch(/^timestamp is 600 s ahead of the server clock/);

      const summary = await summaryOrNone(client, clusterId);
      // 300 records of 0.002 and 50 of 0.5; the conflicting copy kept its original 0.002.
      const totalNanos = 300n * 2_000_000n + 50n * 500_000_000n;
      expect(parts(summary?.currencies[0]?.totalCost)).toEqual(partsOfNanos(totalNanos));
      expect(summary?.recordCount).toBe(350n);
      const stored = await exportAll(client, { clusterId });
      expect(stored).toHaveLength(350);
      expect(stored.map((r) => r.id)).not.toContain("bad-nanos");
      expect(parts(stored.find((r) => r.id === first[7]?.id)?.cost)).toEqual(parts(usd(0, 2_000_000)));
    });

    it("refuses the second of two records sharing an id within one message when their content differs", async () => {
      const clusterId = freshCluster("same-message");
      const original = costRecord({ clusterId, cost: usd(0, 1_000_000) });
      const other = withChanges(original, { cost: usd(0, 7_000_000) });
      const response = await client.recordCosts(recordBatches([[costRecord({ clusterId }), original, original, other]]));
      expect(response).toMatchObject({ acceptedCount: 2n, duplicateCount: 1n, rejectedCount: 1n });
      expect(response.rejected.map(({ index, id, reason }) => ({ index, id, reason }))).toEqual([
        { index: 3n, id: original.id, reason: RejectionReason.ID_CONFLICT },
      ]);
      const [stored] = (await exportAll(client, { clusterId })).filter((r) => r.id === original.id);
      expect(parts(stored?.cost)).toEqual(parts(usd(0, 1_000_000)));
    });

    it("lists at most 100 rejections but counts them all", async () => {
      const clusterId = freshCluster("many-bad");
      const bad = Array.from({ length: 250 }, (_, i) => costRecord({ clusterId, id: `bad-${i}`, cost: usd(-1, 0) }));
      const response = await client.recordCosts(recordBatches(chunks(bad, 70)));
      expect(response.rejectedCount).toBe(250n);
      expect(response.rejected).toHaveLength(100);
      expect(response.rejected.map((r) => r.index)).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i)));
      expect(response.acceptedCount).toBe(0n);
      expect(await summaryOrNone(client, clusterId)).toBeUndefined();
    });

    it("accepts a message of exactly 5,000 records", async () => {
      const clusterId = freshCluster("max-message");
      const records = Array.from({ length: 5_000 }, (_, i) => costRecord({ clusterId, atMs: NOW - i * 1_000 }));
      const response = await client.recordCosts(recordBatches([records]));
      expect(response.acceptedCount).toBe(5_000n);
      expect(usdLine(await summaryOrNone(client, clusterId))).toEqual(everyWindow(10_000_000_000n, 5_000));
    });

    it("fails the stream with INVALID_ARGUMENT for a message of more than 5,000 records, storing none of them", async () => {
      const clusterId = freshCluster("too-many");
      const before = Array.from({ length: 20 }, () => costRecord({ clusterId }));
      const oversized = Array.from({ length: 5_001 }, () => costRecord({ clusterId }));

      const error = await connectErrorOf(client.recordCosts(recordBatches([before, oversized])));

      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toMatch(/^records has 5001 entries in one message; at most 5000 are allowed/);
      // The message before the oversized one was committed; nothing of the oversized one was.
      expect((await summaryOrNone(client, clusterId))?.recordCount).toBe(20n);
      const stored = new Set((await exportAll(client, { clusterId })).map((r) => r.id));
      expect(oversized.some((r) => stored.has(r.id))).toBe(false);
    });

    it("counts a record where its timestamp falls, however late it arrives", async () => {
      const clusterId = freshCluster("late");
      const incurredAt = NOW - 30 * MINUTE;
      await client.recordCosts(recordBatches([[costRecord({ clusterId, cost: usd(1, 0), atMs: NOW - 10 * MINUTE })]]));

      // Two days later the server receives a record stamped two days earlier.
      env.clock.set(NOW + 2 * DAY);
      const late = costRecord({ clusterId, cost: usd(0, 250_000_000), atMs: incurredAt });
      const response = await client.recordCosts(recordBatches([[late]]));
      expect(response.acceptedCount).toBe(1n);

      const line = usdLine(await summaryOrNone(client, clusterId));
      expect(line.today).toEqual(parts(usd(0)));
      expect(line.week).toEqual(parts(usd(1, 250_000_000)));
      expect(line.total).toEqual(parts(usd(1, 250_000_000)));
      expect(line.recordCountToday).toBe(0n);

      // The day it belongs to (UTC) holds it, the day it arrived does not.
      const series = await client.getCostSeries({
        clusterId,
        granularity: SeriesGranularity.DAY,
        startTime: timestampFromMs(NOW - 2 * DAY),
        endTime: timestampFromMs(NOW + 3 * DAY),
      });
      expect(series.points.map((p) => ({ start: p.bucketStartTime, cost: parts(p.cost), n: p.recordCount }))).toEqual([
        { start: timestampFromMs(Date.UTC(2026, 5, 15)), cost: parts(usd(1, 250_000_000)), n: 2n },
      ]);
      const [stored] = (await exportAll(client, { clusterId })).filter((r) => r.id === late.id);
      expect(stored?.timestamp).toEqual(timestampFromMs(incurredAt));
      expect(stored?.receiveTime).toEqual(timestampFromMs(NOW + 2 * DAY));
    });
  });

  describe("acceptance", () => {
    it("counts 10,000 records sent twice with random ids exactly once", async () => {
      const clusterId = freshCluster("ACCEPTANCE");
      const random = seededRandom(20260615);
      // 0.002 USD each, spread over the last 20 hours at odd instants so windows cut through minutes.
      const records = Array.from({ length: 10_000 }, () =>
        costRecord({ id: randomUUID(), clusterId, cost: usd(0, 2_000_000), atMs: NOW - Math.floor(random() * 20 * HOUR) }),
      );
      // Every record twice, shuffled so the two copies land in different messages or calls.
      const sends = [...records, ...records];
      for (let i = sends.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [sends[i], sends[j]] = [sends[j] as CostRecord, sends[i] as CostRecord];
      }
      const viaUnary = sends.slice(0, 2_000);
      const viaStream = sends.slice(2_000);

      const [streamed, unary] = await Promise.all([
        client.recordCosts(recordBatches(chunks(viaStream, 450))),
        mapConcurrent(viaUnary, 64, async (record) => (await client.recordCost({ record })).outcome),
      ]);

      const unaryAccepted = unary.filter((o) => o === RecordOutcome.ACCEPTED).length;
      const unaryDuplicates = unary.filter((o) => o === RecordOutcome.DUPLICATE).length;
      expect(unaryAccepted + unaryDuplicates).toBe(2_000);
      expect(streamed.rejectedCount).toBe(0n);
      expect(streamed.acceptedCount + BigInt(unaryAccepted)).toBe(10_000n);
      expect(streamed.duplicateCount + BigInt(unaryDuplicates)).toBe(10_000n);

      const summary = await summaryOrNone(client, clusterId);
      expect(summary?.recordCount).toBe(10_000n);
      expect(summary?.currencies).toHaveLength(1);
      expect(usdLine(summary)).toEqual({
        total: { currencyCode: "USD", units: 20n, nanos: 0 },
        today: { currencyCode: "USD", units: 20n, nanos: 0 },
        week: { currencyCode: "USD", units: 20n, nanos: 0 },
        month: { currencyCode: "USD", units: 20n, nanos: 0 },
        recordCount: 10_000n,
        recordCountToday: 10_000n,
      });

      // A replayed stream changes nothing.
      const replay = await client.recordCosts(recordBatches(chunks(records, 5_000)));
      expect(replay).toMatchObject({ acceptedCount: 0n, duplicateCount: 10_000n, rejectedCount: 0n });
      expect(usdLine(await summaryOrNone(client, clusterId)).total).toEqual({ currencyCode: "USD", units: 20n, nanos: 0 });
      expect(await exportAll(client, { clusterId })).toHaveLength(10_000);
    });
  });
});

describe("a burst of concurrent calls", () => {
  let env: TestServer;

  beforeAll(async () => {
    env = await startTestServer({ nowMs: NOW });
  });
  afterAll(async () => {
    await env.close();
  });

  // Every call links an abort listener to the server's shutdown signal; without
  // setMaxListeners(0, signal) in src/server.ts Node prints "MaxListenersExceededWarning: Possible
  // EventTarget memory leak detected" once more than 10 calls are in flight.
  it("serves 64 concurrent calls without a MaxListenersExceededWarning", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      if (warning.name === "MaxListenersExceededWarning") warnings.push(warning.message);
    };
    process.on("warning", onWarning);
    try {
      const client = env.client("grpc");
      const records = Array.from({ length: 256 }, () => costRecord({ clusterId: "BURST" }));
      const outcomes = await mapConcurrent(records, 64, async (record) => (await client.recordCost({ record })).outcome);
      expect(outcomes.every((o) => o === RecordOutcome.ACCEPTED)).toBe(true);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings).toEqual([]);
  });
});

describe("RecordCosts under a crowded ingest queue", () => {
  let server: TestServer;
  let openWrites: () => void = () => {};
  const writesOpen = new Promise<void>((resolve) => (openWrites = resolve));
  beforeAll(async () => {
    // A queue that refuses past 5,000 records (crowded from 2,500), over a store whose
    // writes wait until the test lets them through.
    server = await startTestServer({
      nowMs: NOW,
      groupCommit: { maxPendingItems: 5_000 },
      wrapStore: (store) => ({ ...store, insertRecords: async (records, at) => writesOpen.then(() => store.insertRecords(records, at)) }),
    });
  });
  afterAll(async () => {
    openWrites();
    await server.close();
  });

  it("makes many streams wait for their commits instead of having records refused", async () => {
    const client = server.client("grpc");
    const streams = Array.from({ length: 4 }, (_, s) =>
      Array.from({ length: 12 }, (_, m) => Array.from({ length: 500 }, (_, r) => costRecord({ id: `crowd-${s}-${m}-${r}`, cost: usd(0, 1_000_000) }))),
    );
    const responses = Promise.all(streams.map((messages) => client.recordCosts(recordBatches(messages))));
    const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    // Let the streams fill the queue while nothing commits, and give them time to overfill it.
    for (let i = 0; i < 10_000 && server.core.ingest.pendingRecords < 2_500; i++) await turn();
    for (let i = 0; i < 200; i++) await turn();
    expect(server.core.ingest.pendingRecords).toBeGreaterThanOrEqual(2_500);
    expect(server.core.ingest.pendingRecords).toBeLessThanOrEqual(5_000);
    openWrites();
    expect((await responses).map((r) => [r.acceptedCount, r.rejectedCount])).toEqual(Array.from({ length: 4 }, () => [6_000n, 0n]));
  });
});
