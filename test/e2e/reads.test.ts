import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CostRecord } from "../../gen/dreamnet/cost/v1/cost_record_pb.js";
import {
  CostDimension,
  SeriesGranularity,
  type CostBreakdownEntry,
  type CostSeriesPoint,
  type CostSummary,
} from "../../gen/dreamnet/cost/v1/cost_summary_pb.js";
import { timestampFromMs } from "../../src/api/time-mapping.js";
import type { CostClient } from "../../src/client/index.js";
import { expectedSums, localDate, localMidnight, msOf, type ExpectedSum } from "../support/brute-force.js";
import {
  DAY,
  HOUR,
  MINUTE,
  NOW,
  chunks,
  costRecord,
  money,
  parts,
  partsOfNanos,
  recordBatches,
  seededRandom,
  usd,
} from "../support/records.js";
import { connectErrorOf, exportAll, exportPages, summaryOrNone } from "../support/rpc-helpers.js";
import { startTestServer, type TestServer } from "../support/start-test-server.js";

/** Sends records through one RecordCosts stream and checks they were all new. */
async function ingest(client: CostClient, records: readonly CostRecord[]): Promise<void> {
  const response = await client.recordCosts(recordBatches(chunks(records, 1_000)));
  expect(response).toMatchObject({ acceptedCount: BigInt(records.length), rejectedCount: 0n });
}

/** A summary's line for one currency, as exact parts. */
function line(summary: CostSummary | undefined, currency: string) {
  const entry = summary?.currencies.find((c) => c.currencyCode === currency);
  return {
    total: parts(entry?.totalCost),
    today: parts(entry?.costToday),
    week: parts(entry?.costThisWeek),
    month: parts(entry?.costThisMonth),
    count: entry?.recordCount,
    countToday: entry?.recordCountToday,
  };
}

/** Series points in the shape of the brute-force reference. */
function seriesAsSums(points: readonly CostSeriesPoint[]): ExpectedSum[] {
  return points.map((p) => ({
    start: msOf(p.bucketStartTime),
    key: p.key,
    currency: p.cost?.currencyCode ?? "",
    nanos: (p.cost?.units ?? 0n) * 1_000_000_000n + BigInt(p.cost?.nanos ?? 0),
    count: p.recordCount,
  }));
}

/** Breakdown entries as (key, currency, exact parts, count). */
function breakdownRows(entries: readonly CostBreakdownEntry[]) {
  return entries.map((e) => ({ key: e.key, cost: parts(e.cost), count: e.recordCount }));
}

/** The reference breakdown of records in [fromMs, toMs): by currency, then largest cost first, then key. */
function expectedBreakdown(records: readonly CostRecord[], fromMs: number, toMs: number, keyOf: (r: CostRecord) => string) {
  const sums = expectedSums(records, (ms) => (ms >= fromMs && ms < toMs ? 0 : undefined), keyOf);
  const text = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return sums
    .sort((a, b) => text(a.currency, b.currency) || (a.nanos > b.nanos ? -1 : a.nanos < b.nanos ? 1 : 0) || text(a.key, b.key))
    .map((s) => ({ key: s.key, cost: partsOfNanos(s.nanos, s.currency), count: s.count }));
}

describe("GetCostSummary over rolling windows at exact instants", () => {
  let env: TestServer;
  let client: CostClient;
  // An instant off every minute boundary, so every window has partial buckets at both ends.
  const T0 = NOW + 37_123;

  beforeAll(async () => {
    env = await startTestServer({ nowMs: T0 });
    client = env.client("grpc");
    await ingest(client, [
      costRecord({ clusterId: "WIN", cost: usd(1, 500_000_000), atMs: T0 - HOUR }),
      costRecord({ clusterId: "WIN", cost: usd(0, 250_000_000), atMs: T0 - 2 * DAY }),
      costRecord({ clusterId: "WIN", cost: usd(0, 125_000_000), atMs: T0 - 10 * DAY }),
      costRecord({ clusterId: "WIN", cost: usd(3, 1), atMs: T0 - 40 * DAY }),
      costRecord({ clusterId: "WIN", cost: money(2, 500_000_000, "EUR"), atMs: T0 - HOUR }),
      costRecord({ clusterId: "OTHER", cost: usd(7, 0), atMs: T0 - HOUR }),
    ]);
  });
  afterAll(async () => {
    await env.close();
  });

  it("sums each window exactly and keeps currencies apart, ordered by code", async () => {
    env.clock.set(T0);
    const summary = await summaryOrNone(client, "WIN");
    expect(summary?.clusterId).toBe("WIN");
    expect(summary?.currencies.map((c) => c.currencyCode)).toEqual(["EUR", "USD"]);
    expect(line(summary, "USD")).toEqual({
      today: parts(usd(1, 500_000_000)),
      week: parts(usd(1, 750_000_000)),
      month: parts(usd(1, 875_000_000)),
      total: parts(usd(4, 875_000_001)),
      count: 4n,
      countToday: 1n,
    });
    const eur = parts(money(2, 500_000_000, "EUR"));
    expect(line(summary, "EUR")).toEqual({ today: eur, week: eur, month: eur, total: eur, count: 1n, countToday: 1n });
    expect(summary?.recordCount).toBe(5n);
    expect(summary?.asOfTime).toEqual(timestampFromMs(T0));
    expect(summary?.lastUpdateTime).toEqual(timestampFromMs(T0));
  });

  it("keeps a record in the last 24 h until it is more than 24 h old", async () => {
    env.clock.set(T0 + 23 * HOUR);
    expect(line(await summaryOrNone(client, "WIN"), "USD")).toMatchObject({ today: parts(usd(1, 500_000_000)), countToday: 1n });

    env.clock.set(T0 + 23 * HOUR + 1);
    expect(line(await summaryOrNone(client, "WIN"), "USD")).toMatchObject({
      today: parts(usd(0)),
      countToday: 0n,
      week: parts(usd(1, 750_000_000)),
    });
  });

  it("moves records out of the week and the month as the clock advances", async () => {
    env.clock.set(T0 + 5 * DAY + 1);
    expect(line(await summaryOrNone(client, "WIN"), "USD")).toEqual({
      today: parts(usd(0)),
      week: parts(usd(1, 500_000_000)),
      month: parts(usd(1, 875_000_000)),
      total: parts(usd(4, 875_000_001)),
      count: 4n,
      countToday: 0n,
    });

    env.clock.set(T0 + 20 * DAY + 1);
    expect(line(await summaryOrNone(client, "WIN"), "USD")).toMatchObject({
      week: parts(usd(0)),
      month: parts(usd(1, 750_000_000)),
      total: parts(usd(4, 875_000_001)),
    });

    env.clock.set(T0 + 400 * DAY);
    const summary = await summaryOrNone(client, "WIN");
    expect(line(summary, "USD")).toMatchObject({ month: parts(usd(0)), total: parts(usd(4, 875_000_001)), count: 4n });
    expect(summary?.asOfTime).toEqual(timestampFromMs(T0 + 400 * DAY));
  });

  it("answers NOT_FOUND for a cluster without records", async () => {
    const error = await connectErrorOf(client.getCostSummary({ clusterId: "NOBODY" }));
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toContain('"NOBODY"');
  });

  it("answers INVALID_ARGUMENT for a missing or malformed cluster id", async () => {
    for (const clusterId of ["", "no spaces", "x".repeat(129)]) {
      const error = await connectErrorOf(client.getCostSummary({ clusterId }));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage.startsWith("cluster_id ")).toBe(true);
    }
  });
});

describe("ListCostSummaries", () => {
  let env: TestServer;
  let client: CostClient;
  // Ordered by code units: upper case before lower case.
  const clusters = ["alpha", "Bravo", "charlie", "delta", "Echo", "foxtrot", "golf"];
  const sorted = ["Bravo", "Echo", "alpha", "charlie", "delta", "foxtrot", "golf"];

  beforeAll(async () => {
    env = await startTestServer({ nowMs: NOW });
    client = env.client("grpc");
    // Cluster i has i + 1 records of 0.1 USD.
    await ingest(
      client,
      clusters.flatMap((clusterId, i) => Array.from({ length: i + 1 }, () => costRecord({ clusterId, cost: usd(0, 100_000_000) }))),
    );
  });
  afterAll(async () => {
    await env.close();
  });

  it("pages through every cluster in order with page_size and page tokens", async () => {
    const pages: string[][] = [];
    const seen: CostSummary[] = [];
    let pageToken = "";
    do {
      const page = await client.listCostSummaries({ pageSize: 3, pageToken });
      pages.push(page.summaries.map((s) => s.clusterId));
      seen.push(...page.summaries);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");

    expect(pages).toEqual([sorted.slice(0, 3), sorted.slice(3, 6), sorted.slice(6)]);
    for (const summary of seen) {
      const n = BigInt(clusters.indexOf(summary.clusterId) + 1);
      expect(summary.recordCount).toBe(n);
      expect(parts(summary.currencies[0]?.totalCost)).toEqual(partsOfNanos(n * 100_000_000n));
    }
  });

  it("gives no next token when the last page is exactly full", async () => {
    const page = await client.listCostSummaries({ pageSize: 7 });
    expect(page.summaries.map((s) => s.clusterId)).toEqual(sorted);
    expect(page.nextPageToken).toBe("");
  });

  it("uses 100 as the page size when none is given", async () => {
    const page = await client.listCostSummaries({});
    expect(page.summaries).toHaveLength(7);
    expect(page.nextPageToken).toBe("");
  });

  it("refuses a page_token it did not issue with INVALID_ARGUMENT", async () => {
    for (const pageToken of ["not-a-token", "%%%", Buffer.from("{}").toString("base64url")]) {
      const error = await connectErrorOf(client.listCostSummaries({ pageSize: 2, pageToken }));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage.startsWith("page_token ")).toBe(true);
    }
  });

  it("refuses page sizes out of bounds with INVALID_ARGUMENT", async () => {
    for (const pageSize of [-1, 501]) {
      const error = await connectErrorOf(client.listCostSummaries({ pageSize }));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage.startsWith("page_size ")).toBe(true);
    }
  });
});

describe("GetCostBreakdown", () => {
  let env: TestServer;
  let client: CostClient;
  const from = NOW - 3 * DAY + 12_345;
  const to = NOW - DAY - 6_789;
  const records: CostRecord[] = [];

  beforeAll(async () => {
    env = await startTestServer({ nowMs: NOW });
    client = env.client("grpc");
    const random = seededRandom(7);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
    for (let i = 0; i < 600; i++) {
      records.push(
        costRecord({
          clusterId: pick(["ALPHA", "BETA", "GAMMA"]),
          provider: pick(["openai", "anthropic", "mistral", "google"]),
          operation: pick(["chat-completion", "embedding", "image"]),
          model: pick(["gpt-4", "claude-3", "", "gemini"]),
          cost: random() < 0.2 ? money(0, Math.floor(random() * 999_999_999), "EUR") : usd(Math.floor(random() * 3), Math.floor(random() * 999_999_999)),
          atMs: NOW - Math.floor(random() * 4 * DAY),
        }),
      );
    }
    // The range edges: the start is inside, the end and the instant before the start are not.
    for (const atMs of [from, from - 1, to, to - 1]) records.push(costRecord({ clusterId: "ALPHA", provider: "edge", atMs, cost: usd(5, 0) }));
    await ingest(client, records);
  });
  afterAll(async () => {
    await env.close();
  });

  const cases = [
    { name: "provider", dimension: CostDimension.PROVIDER, keyOf: (r: CostRecord) => r.provider },
    { name: "operation", dimension: CostDimension.OPERATION, keyOf: (r: CostRecord) => r.operation },
    { name: "model", dimension: CostDimension.MODEL, keyOf: (r: CostRecord) => r.model },
    { name: "cluster", dimension: CostDimension.CLUSTER, keyOf: (r: CostRecord) => r.clusterId },
  ] as const;

  it.each(cases)("groups all clusters by $name with exact sums, by currency then largest first", async ({ dimension, keyOf }) => {
    const response = await client.getCostBreakdown({ dimension, startTime: timestampFromMs(from), endTime: timestampFromMs(to) });
    expect(breakdownRows(response.entries)).toEqual(expectedBreakdown(records, from, to, keyOf));
    expect(response.startTime).toEqual(timestampFromMs(from));
    expect(response.endTime).toEqual(timestampFromMs(to));
  });

  it.each(cases)("limits the $name breakdown to one cluster", async ({ dimension, keyOf }) => {
    const response = await client.getCostBreakdown({ clusterId: "BETA", dimension, startTime: timestampFromMs(from), endTime: timestampFromMs(to) });
    const beta = records.filter((r) => r.clusterId === "BETA");
    expect(breakdownRows(response.entries)).toEqual(expectedBreakdown(beta, from, to, keyOf));
  });

  it("orders equal costs by key", async () => {
    const ties = ["zeta", "alpha", "mu"].map((provider) => costRecord({ clusterId: "TIES", provider, cost: usd(1, 0), atMs: NOW - HOUR }));
    await ingest(client, [...ties, costRecord({ clusterId: "TIES", provider: "big", cost: usd(2, 0), atMs: NOW - HOUR })]);
    const response = await client.getCostBreakdown({ clusterId: "TIES", dimension: CostDimension.PROVIDER });
    expect(response.entries.map((e) => e.key)).toEqual(["big", "alpha", "mu", "zeta"]);
  });

  it("defaults to the last 30 days ending now", async () => {
    const response = await client.getCostBreakdown({ clusterId: "GAMMA", dimension: CostDimension.CLUSTER });
    expect(response.startTime).toEqual(timestampFromMs(NOW - 30 * DAY));
    expect(response.endTime).toEqual(timestampFromMs(NOW));
    const gamma = records.filter((r) => r.clusterId === "GAMMA");
    expect(breakdownRows(response.entries)).toEqual(expectedBreakdown(gamma, NOW - 30 * DAY, NOW, (r) => r.clusterId));
  });

  it("refuses a missing dimension and an empty range with INVALID_ARGUMENT naming the field", async () => {
    const noDimension = await connectErrorOf(client.getCostBreakdown({}));
    expect(noDimension.code).toBe(Code.InvalidArgument);
    expect(noDimension.rawMessage.startsWith("dimension ")).toBe(true);

    const backwards = await connectErrorOf(
      client.getCostBreakdown({ dimension: CostDimension.PROVIDER, startTime: timestampFromMs(to), endTime: timestampFromMs(from) }),
    );
    expect(backwards.code).toBe(Code.InvalidArgument);
    expect(backwards.rawMessage.startsWith("start_time ")).toBe(true);
  });
});

describe("GetCostSeries", () => {
  let env: TestServer;
  let client: CostClient;
  const records: CostRecord[] = [];
  // 2026-11-01: New York falls back from EDT (UTC-4) to EST (UTC-5) at 02:00 local.
  const providers = ["openai", "anthropic", "mistral"];

  beforeAll(async () => {
    env = await startTestServer({ nowMs: Date.UTC(2026, 10, 10) });
    client = env.client("grpc");
    const random = seededRandom(1101);
    const first = Date.UTC(2026, 9, 29);
    const last = Date.UTC(2026, 10, 4);
    for (let i = 0; i < 3_000; i++) {
      records.push(
        costRecord({
          clusterId: "SERIES",
          provider: providers[i % 3],
          cost: i % 10 === 0 ? money(0, 1 + Math.floor(random() * 999_999_998), "EUR") : usd(Math.floor(random() * 2), Math.floor(random() * 999_999_999)),
          atMs: first + Math.floor(random() * (last - first)),
        }),
      );
    }
    const edges = [
      Date.UTC(2026, 10, 1, 0, 0), // UTC midnight
      Date.UTC(2026, 10, 1, 0, 0) - 1,
      Date.UTC(2026, 10, 1, 4, 0), // New York midnight of Nov 1 (EDT)
      Date.UTC(2026, 10, 1, 4, 0) - 1,
      Date.UTC(2026, 10, 1, 5, 30), // 01:30 EDT, the first of the two 01:30s
      Date.UTC(2026, 10, 1, 6, 30), // 01:30 EST, the second
      Date.UTC(2026, 10, 2, 5, 0), // New York midnight of Nov 2 (EST)
      Date.UTC(2026, 10, 2, 5, 0) - 1,
      Date.UTC(2026, 9, 31, 18, 30), // Kolkata midnight of Nov 1 (UTC+05:30), inside a UTC hour
      Date.UTC(2026, 9, 31, 18, 30) - 1,
      Date.UTC(2026, 9, 31, 18, 0),
      Date.UTC(2026, 9, 31, 18, 59, 59, 999),
    ];
    edges.forEach((atMs, i) => records.push(costRecord({ clusterId: "SERIES", provider: providers[i % 3], cost: usd(0, 1_000 + i), atMs })));
    // Another cluster, which a request for SERIES must not see.
    records.push(costRecord({ clusterId: "NOISE", cost: usd(100, 0), atMs: Date.UTC(2026, 10, 1, 12, 0) }));
    await ingest(client, records);
  });
  afterAll(async () => {
    await env.close();
  });

  const inSeriesCluster = (): CostRecord[] => records.filter((r) => r.clusterId === "SERIES");

  /** The reference for day buckets in a zone: the local day holding each record, for days from start's to the one holding end - 1. */
  function expectedDays(zone: string, fromMs: number, toMs: number, keyOf?: (r: CostRecord) => string): ExpectedSum[] {
    const firstDay = localDate(fromMs, zone);
    return expectedSums(
      inSeriesCluster(),
      (ms) => {
        const day = localDate(ms, zone);
        const start = localMidnight(day, zone);
        return day >= firstDay && start < toMs ? start : undefined;
      },
      keyOf,
    );
  }

  it("buckets by UTC hour, the range rounded out to whole hours", async () => {
    const fromMs = Date.UTC(2026, 9, 31, 22, 17);
    const toMs = Date.UTC(2026, 10, 1, 9, 5);
    const response = await client.getCostSeries({
      clusterId: "SERIES",
      granularity: SeriesGranularity.HOUR,
      startTime: timestampFromMs(fromMs),
      endTime: timestampFromMs(toMs),
    });
    const floorHour = (ms: number): number => Math.floor(ms / HOUR) * HOUR;
    const expected = expectedSums(inSeriesCluster(), (ms) => (floorHour(ms) >= floorHour(fromMs) && floorHour(ms) < toMs ? floorHour(ms) : undefined));
    expect(seriesAsSums(response.points)).toEqual(expected);
    expect(new Set(expected.map((e) => e.start)).size).toBe(12);
  });

  it("splits hour buckets by provider", async () => {
    const fromMs = Date.UTC(2026, 10, 1, 3);
    const toMs = Date.UTC(2026, 10, 1, 8);
    const response = await client.getCostSeries({
      clusterId: "SERIES",
      granularity: SeriesGranularity.HOUR,
      splitBy: CostDimension.PROVIDER,
      startTime: timestampFromMs(fromMs),
      endTime: timestampFromMs(toMs),
    });
    const expected = expectedSums(
      inSeriesCluster(),
      (ms) => (ms >= fromMs && ms < toMs ? Math.floor(ms / HOUR) * HOUR : undefined),
      (r) => r.provider,
    );
    expect(seriesAsSums(response.points)).toEqual(expected);
  });

  it("buckets by UTC day", async () => {
    const fromMs = Date.UTC(2026, 9, 29);
    const toMs = Date.UTC(2026, 10, 4);
    const response = await client.getCostSeries({
      clusterId: "SERIES",
      granularity: SeriesGranularity.DAY,
      startTime: timestampFromMs(fromMs),
      endTime: timestampFromMs(toMs),
    });
    expect(seriesAsSums(response.points)).toEqual(expectedDays("UTC", fromMs, toMs));
    expect(response.points.filter((p) => p.cost?.currencyCode === "USD").map((p) => msOf(p.bucketStartTime))).toEqual(
      [29, 30, 31].map((d) => Date.UTC(2026, 9, d)).concat([1, 2, 3].map((d) => Date.UTC(2026, 10, d))),
    );
  });

  it("buckets by New York day across the end of daylight saving time (a 25-hour day)", async () => {
    const fromMs = Date.UTC(2026, 9, 30, 12);
    const toMs = Date.UTC(2026, 10, 3, 3);
    const response = await client.getCostSeries({
      clusterId: "SERIES",
      granularity: SeriesGranularity.DAY,
      timeZone: "America/New_York",
      startTime: timestampFromMs(fromMs),
      endTime: timestampFromMs(toMs),
    });
    expect(seriesAsSums(response.points)).toEqual(expectedDays("America/New_York", fromMs, toMs));
    const starts = [...new Set(response.points.map((p) => msOf(p.bucketStartTime)))];
    expect(starts).toEqual([
      Date.UTC(2026, 9, 30, 4), // Oct 30, EDT
      Date.UTC(2026, 9, 31, 4), // Oct 31, EDT
      Date.UTC(2026, 10, 1, 4), // Nov 1, EDT at midnight: 25 hours long
      Date.UTC(2026, 10, 2, 5), // Nov 2, EST
    ]);
  });

  it("splits New York days by provider", async () => {
    const fromMs = Date.UTC(2026, 9, 31, 4);
    const toMs = Date.UTC(2026, 10, 2, 5);
    const response = await client.getCostSeries({
      clusterId: "SERIES",
      granularity: SeriesGranularity.DAY,
      timeZone: "America/New_York",
      splitBy: CostDimension.PROVIDER,
      startTime: timestampFromMs(fromMs),
      endTime: timestampFromMs(toMs),
    });
    expect(seriesAsSums(response.points)).toEqual(expectedDays("America/New_York", fromMs, toMs, (r) => r.provider));
  });

  it.each(["Asia/Kolkata", "Asia/Kathmandu"])("buckets by %s day, whose midnights cut UTC hours in two", async (zone) => {
    const fromMs = Date.UTC(2026, 9, 30);
    const toMs = Date.UTC(2026, 10, 3);
    const response = await client.getCostSeries({
      clusterId: "SERIES",
      granularity: SeriesGranularity.DAY,
      timeZone: zone,
      startTime: timestampFromMs(fromMs),
      endTime: timestampFromMs(toMs),
    });
    expect(seriesAsSums(response.points)).toEqual(expectedDays(zone, fromMs, toMs));
  });

  it("splits Kolkata days by provider", async () => {
    const fromMs = Date.UTC(2026, 9, 30, 18, 30);
    const toMs = Date.UTC(2026, 10, 2, 18, 30);
    const response = await client.getCostSeries({
      clusterId: "SERIES",
      granularity: SeriesGranularity.DAY,
      timeZone: "Asia/Kolkata",
      splitBy: CostDimension.PROVIDER,
      startTime: timestampFromMs(fromMs),
      endTime: timestampFromMs(toMs),
    });
    const expected = expectedDays("Asia/Kolkata", fromMs, toMs, (r) => r.provider);
    expect(seriesAsSums(response.points)).toEqual(expected);
    // Local Oct 31, Nov 1 and Nov 2 start at 18:30 UTC the day before.
    expect([...new Set(response.points.map((p) => msOf(p.bucketStartTime)))]).toEqual([
      Date.UTC(2026, 9, 30, 18, 30),
      Date.UTC(2026, 9, 31, 18, 30),
      Date.UTC(2026, 10, 1, 18, 30),
    ]);
  });

  it("refuses an unknown time zone and a range of more than 2,000 buckets with INVALID_ARGUMENT", async () => {
    const zone = await connectErrorOf(client.getCostSeries({ granularity: SeriesGranularity.DAY, timeZone: "Mars/Olympus_Mons" }));
    expect(zone.code).toBe(Code.InvalidArgument);
    expect(zone.rawMessage.startsWith("time_zone ")).toBe(true);

    const tooLong = await connectErrorOf(
      client.getCostSeries({
        granularity: SeriesGranularity.HOUR,
        startTime: timestampFromMs(Date.UTC(2026, 0, 1)),
        endTime: timestampFromMs(Date.UTC(2026, 4, 1)),
      }),
    );
    expect(tooLong.code).toBe(Code.InvalidArgument);
    expect(tooLong.rawMessage.startsWith("start_time ")).toBe(true);
  });
});

describe("ExportCosts", () => {
  let env: TestServer;
  let client: CostClient;
  const sent: CostRecord[] = [];

  beforeAll(async () => {
    env = await startTestServer({ nowMs: NOW });
    client = env.client("grpc");
    const random = seededRandom(42);
    for (let i = 0; i < 2_845; i++) {
      sent.push(
        costRecord({
          clusterId: i % 6 === 5 ? "EXP-B" : "EXP-A",
          provider: i % 2 ? "openai" : "anthropic",
          operation: "chat-completion",
          model: i % 3 ? "gpt-4" : "",
          cost: usd(Math.floor(random() * 10), Math.floor(random() * 999_999_999)),
          atMs: NOW - Math.floor(random() * 7 * DAY),
          traceId: i % 4 ? "" : `trace-${i}`,
          ...(i % 5 === 0 ? { metadata: { tokens: i, tags: ["a", "b"], nested: { ok: true } } } : {}),
        }),
      );
    }
    // Two records at the same instant: export keeps their commit order.
    const tie = NOW - 3 * DAY;
    sent.push(costRecord({ clusterId: "EXP-A", id: "tie-first", atMs: tie }));
    sent.push(costRecord({ clusterId: "EXP-A", id: "tie-second", atMs: tie }));
    await ingest(client, sent);
  });
  afterAll(async () => {
    await env.close();
  });

  /** The records sent for a cluster (all when undefined) in [fromMs, toMs), in timestamp order, then send order. */
  const expectedExport = (clusterId: string | undefined, fromMs: number, toMs: number): CostRecord[] =>
    sent
      .map((record, order) => ({ record, order, ms: msOf(record.timestamp) }))
      .filter(({ record, ms }) => (clusterId === undefined || record.clusterId === clusterId) && ms >= fromMs && ms < toMs)
      .sort((a, b) => a.ms - b.ms || a.order - b.order)
      .map(({ record }) => record);

  it("streams every record of a cluster and range in timestamp order, in pages of page_size", async () => {
    const fromMs = NOW - 5 * DAY;
    const toMs = NOW - DAY;
    const pages = await exportPages(client, { clusterId: "EXP-A", startTime: timestampFromMs(fromMs), endTime: timestampFromMs(toMs), pageSize: 100 });
    const expected = expectedExport("EXP-A", fromMs, toMs);

    expect(pages.slice(0, -1).every((page) => page.length === 100)).toBe(true);
    expect(pages.at(-1)?.length).toBe(expected.length - 100 * (pages.length - 1));
    const exported = pages.flat();
    expect(exported.map((r) => r.id)).toEqual(expected.map((r) => r.id));
    const tieOrder = exported.map((r) => r.id).filter((id) => id.startsWith("tie-"));
    expect(tieOrder).toEqual(["tie-first", "tie-second"]);
  });

  it("returns each record as it was sent, with the commit time", async () => {
    const exported = await exportAll(client, {});
    expect(exported).toHaveLength(sent.length);
    const byId = new Map(sent.map((r) => [r.id, r]));
    for (const record of exported) {
      const original = byId.get(record.id);
      expect({
        clusterId: record.clusterId,
        provider: record.provider,
        operation: record.operation,
        model: record.model,
        cost: parts(record.cost),
        timestamp: record.timestamp,
        traceId: record.traceId,
        metadata: record.metadata,
      }).toEqual({
        clusterId: original?.clusterId,
        provider: original?.provider,
        operation: original?.operation,
        model: original?.model,
        cost: parts(original?.cost),
        timestamp: original?.timestamp,
        traceId: original?.traceId,
        metadata: original?.metadata,
      });
      expect(record.receiveTime).toEqual(timestampFromMs(NOW));
    }
  });

  it("uses pages of 1,000 by default and covers all clusters when none is named", async () => {
    const pages = await exportPages(client, {});
    expect(pages.map((p) => p.length)).toEqual([1_000, 1_000, sent.length - 2_000]);
    expect(pages.flat().map((r) => r.id)).toEqual(expectedExport(undefined, 0, NOW + DAY).map((r) => r.id));
  });

  it("filters by cluster", async () => {
    const exported = await exportAll(client, { clusterId: "EXP-B", pageSize: 5_000 });
    expect(exported.map((r) => r.id)).toEqual(expectedExport("EXP-B", 0, NOW + DAY).map((r) => r.id));
    expect(exported.every((r) => r.clusterId === "EXP-B")).toBe(true);
  });

  it("streams nothing for an empty range", async () => {
    expect(await exportPages(client, { startTime: timestampFromMs(NOW - 30 * DAY), endTime: timestampFromMs(NOW - 20 * DAY) })).toEqual([]);
  });

  it("refuses a page_size above 5,000 with INVALID_ARGUMENT", async () => {
    const error = await connectErrorOf(exportAll(client, { pageSize: 5_001 }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage.startsWith("page_size ")).toBe(true);
  });

  // Regression: the default export end excluded a record stamped exactly at the skew limit.
  it("includes a record stamped at the furthest accepted instant in an export with the default end", async () => {
    const edge = costRecord({ clusterId: "EXP-EDGE", atMs: NOW + 5 * MINUTE });
    await ingest(client, [edge]);
    expect((await summaryOrNone(client, "EXP-EDGE"))?.recordCount).toBe(1n);
    const exported = await exportAll(client, { clusterId: "EXP-EDGE" });
    expect(exported.map((r) => r.id)).toEqual([edge.id]);
  });
});

describe("plain HTTP/1.1 on the same port", () => {
  let env: TestServer;

  beforeAll(async () => {
    env = await startTestServer({ nowMs: NOW });
    await ingest(env.client("grpc"), [
      costRecord({ clusterId: "JSON", cost: usd(1, 250_000_000), atMs: NOW - HOUR }),
      costRecord({ clusterId: "JSON", cost: usd(0, 250_000_000), atMs: NOW - 3 * DAY }),
    ]);
  });
  afterAll(async () => {
    await env.close();
  });

  it("answers GetCostSummary in JSON over the Connect protocol with fetch", async () => {
    const response = await fetch(`${env.url}/dreamnet.cost.v1.CostService/GetCostSummary`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ clusterId: "JSON" }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual({
      summary: {
        clusterId: "JSON",
        currencies: [
          {
            currencyCode: "USD",
            totalCost: { currencyCode: "USD", units: "1", nanos: 500_000_000 },
            costToday: { currencyCode: "USD", units: "1", nanos: 250_000_000 },
            costThisWeek: { currencyCode: "USD", units: "1", nanos: 500_000_000 },
            costThisMonth: { currencyCode: "USD", units: "1", nanos: 500_000_000 },
            recordCount: "2",
            recordCountToday: "1",
          },
        ],
        recordCount: "2",
        lastUpdateTime: "2026-06-15T12:00:00Z",
        asOfTime: "2026-06-15T12:00:00Z",
      },
    });
  });

  it("answers an unknown cluster with a Connect JSON error", async () => {
    const response = await fetch(`${env.url}/dreamnet.cost.v1.CostService/GetCostSummary`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ clusterId: "NOBODY" }),
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ code: "not_found", message: 'cluster "NOBODY" not found' });
  });

  it("answers GET /healthz with 200 ok", async () => {
    const response = await fetch(`${env.url}/healthz`);
    expect(response.status).toBe(200);
    expect((await response.text()).trim()).toBe("ok");
  });
});
