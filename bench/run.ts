// `npm run bench`: starts the real server (and a count-only baseline on the same
// stack) as child processes and prints one table of figures with the baselines
// measured in the same run; writes them to bench/results/latest.json.
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { BudgetPeriod } from "../gen/dreamnet/cost/v1/budget_pb.js";
import { createCostClient } from "../src/client/index.js";
import type { CostRecord } from "../src/domain/cost-record.js";
import { DAY_MS } from "../src/domain/time.js";
import { createSqliteCostStore } from "../src/store/sqlite/sqlite-cost-store.js";
import { alertFanout } from "./fanout.js";
import { startCostCore, startNoopServer, type ServerProcess } from "./processes.js";
import { summarizeProfiles } from "./profile-summary.js";
import { alternatingUnaryCalls, CLUSTERS, percentiles, streamRecords } from "./workloads.js";

const QUICK = process.argv.includes("--quick");
// --profile: one more streaming run against a server under --cpu-prof, summarised per thread.
const PROFILE = process.argv.includes("--profile");
const STREAM_RECORDS = QUICK ? 100_000 : 1_000_000;
const RSS_RECORDS = QUICK ? 300_000 : 5_000_000;
const UNARY_CALLS = QUICK ? 4_000 : 20_000;
const UNARY_ROUNDS = 4;
const WATCHERS = QUICK ? 200 : 1_000;
const PER_MESSAGE = 500;
const STORE_BATCH = 5_000;

interface Row {
  readonly figure: string;
  readonly value: string;
  readonly baseline?: string;
  readonly ratio?: string;
  readonly target?: string;
  readonly met?: boolean;
}

type UnaryFigures = { perSecond: number; p50: number; p99: number };

const rows: Row[] = [];
const figures: Record<string, number> = {};
const work = mkdtempSync(join(tmpdir(), "cost-core-bench-"));
const servers: ServerProcess[] = [];

function record(key: string, value: number): number {
  figures[key] = Math.round(value * 100) / 100;
  return value;
}

async function main(): Promise<void> {
  log(`Cost Core benchmark${QUICK ? " (quick)" : ""}: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);

  // 1. Streaming ingest against the count-only baseline and the store alone.
  log(`streaming ${STREAM_RECORDS} records (UUIDv4 ids, ${PER_MESSAGE} per message, stamped within the last second) to the count-only server`);
  const noop = await track(startNoopServer());
  const noopClient = createCostClient({ baseUrl: noop.url });
  const noopStream = await streamRecords(noopClient, STREAM_RECORDS, { perMessage: PER_MESSAGE, streams: 1, spreadMs: 1_000 });
  log(`streaming ${STREAM_RECORDS} records to Cost Core (SQLite, synchronous=FULL, roll-ups, ${CLUSTERS.length} budgets)`);
  const main = await track(startCostCore({ COST_CORE_SQLITE_PATH: join(work, "stream.db"), COST_CORE_MAX_STREAMS_PER_KEY: "5000", COST_CORE_MAX_WATCHERS: "5000" }));
  const client = createCostClient({ baseUrl: main.url });
  for (const cluster of CLUSTERS) {
    await client.setBudget({ budget: { id: `bench-${cluster}`, clusterId: cluster, amount: { currencyCode: "USD", units: 1_000_000n }, period: BudgetPeriod.MONTHLY, alertThresholds: [50, 80] } });
  }
  const stream = await streamRecords(client, STREAM_RECORDS, { perMessage: PER_MESSAGE, streams: 1, spreadMs: 1_000 });
  if (stream.accepted !== BigInt(STREAM_RECORDS)) throw new Error(`accepted ${stream.accepted} of ${STREAM_RECORDS}`);
  log(`inserting the same number of rows into SQLite without gRPC`);
  const storeOnly = await storeInsertRate(STREAM_RECORDS);
  const plainTable = plainInsertRate(STREAM_RECORDS);
  rows.push(
    { figure: "streaming ingest (records/s)", value: fmt(record("stream_records_per_s", stream.perSecond)), target: ">= 150000", met: stream.perSecond >= 150_000 },
    { figure: "  vs count-only stream on the same stack", value: fmt(stream.perSecond), baseline: fmt(record("noop_stream_records_per_s", noopStream.perSecond)), ratio: ratio(stream.perSecond, noopStream.perSecond), target: ">= 0.6", met: stream.perSecond / noopStream.perSecond >= 0.6 },
    { figure: "  vs the store alone (insertRecords, no gRPC, one thread)", value: fmt(stream.perSecond), baseline: fmt(record("store_records_per_s", storeOnly)), ratio: ratio(stream.perSecond, storeOnly) },
    { figure: "  vs plain INSERT with a UUID primary key", value: fmt(stream.perSecond), baseline: fmt(record("plain_insert_rows_per_s", plainTable)), ratio: ratio(stream.perSecond, plainTable) },
  );

  // 2. Unary calls at concurrency 64.
  log(`unary RecordCost x ${UNARY_CALLS} at concurrency 64, and a no-op unary RPC, in ${UNARY_ROUNDS} alternating rounds`);
  // The same with V8's own heap growth: the other side of the trade COST_CORE_HEAP_GROWTH_PERCENT makes.
  const adaptive = await track(startCostCore({ COST_CORE_SQLITE_PATH: join(work, "unary-adaptive.db"), COST_CORE_HEAP_GROWTH_PERCENT: "0" }));
  const [noopUnary, unary, adaptiveUnary] = await alternatingUnaryCalls([noopClient, client, createCostClient({ baseUrl: adaptive.url })], UNARY_CALLS, 64, UNARY_ROUNDS) as [
    UnaryFigures,
    UnaryFigures,
    UnaryFigures,
  ];
  await adaptive.stop();
  record("unary_calls_per_s", unary.perSecond);
  record("noop_unary_calls_per_s", noopUnary.perSecond);
  record("unary_adaptive_heap_calls_per_s", adaptiveUnary.perSecond);
  rows.push(
    { figure: "unary RecordCost, concurrency 64 (calls/s)", value: fmt(unary.perSecond), baseline: fmt(noopUnary.perSecond), ratio: ratio(unary.perSecond, noopUnary.perSecond), target: ">= 0.8", met: unary.perSecond / noopUnary.perSecond >= 0.8 },
    { figure: "  p50 / p99 latency (ms)", value: `${ms(record("unary_p50_ms", unary.p50))} / ${ms(record("unary_p99_ms", unary.p99))}`, baseline: `${ms(noopUnary.p50)} / ${ms(noopUnary.p99)}` },
    {
      figure: "  with COST_CORE_HEAP_GROWTH_PERCENT=0 (V8's own heap growth)",
      value: fmt(adaptiveUnary.perSecond),
      baseline: fmt(noopUnary.perSecond),
      ratio: ratio(adaptiveUnary.perSecond, noopUnary.perSecond),
    },
  );
  await noop.stop();

  // 3. Alert fan-out to many watchers.
  log(`alert fan-out to ${WATCHERS} WatchAlerts streams`);
  const fanout = await alertFanout(client, WATCHERS, QUICK ? 5 : 20);
  record("fanout_p50_ms", fanout.p50);
  record("fanout_p99_ms", fanout.p99);
  rows.push({ figure: `alert fan-out to ${WATCHERS} watchers, event time to arrival, p50 / p99 (ms)`, value: `${ms(fanout.p50)} / ${ms(fanout.p99)}`, target: "p99 < 250", met: fanout.p99 < 250 });
  await main.stop();

  // 4. Summary latency does not grow with history.
  log("GetCostSummary with 10,000 and 1,000,000 records stored (timestamps over 45 days)");
  const small = await summaryLatency(10_000);
  const large = await summaryLatency(QUICK ? 200_000 : 1_000_000);
  record("summary_10k_p50_ms", small.p50);
  record("summary_10k_p99_ms", small.p99);
  record("summary_1m_p50_ms", large.p50);
  record("summary_1m_p99_ms", large.p99);
  rows.push(
    { figure: "GetCostSummary p50 / p99, 10k records (ms)", value: `${ms(small.p50)} / ${ms(small.p99)}` },
    { figure: `GetCostSummary p50 / p99, ${QUICK ? "200k" : "1M"} records (ms)`, value: `${ms(large.p50)} / ${ms(large.p99)}`, baseline: ms(small.p50), ratio: ratio(large.p50, small.p50), target: "<= 1.5", met: large.p50 / small.p50 <= 1.5 },
  );

  // 5. Memory while streaming many records.
  log(`peak server RSS while streaming ${RSS_RECORDS} records over 2 streams`);
  const rss = await peakRss("rss.db", {});
  record("rss_peak_mib", rss.mib);
  record("rss_peak_mb", rss.mb);
  record("rss_run_records_per_s", rss.perSecond);
  rows.push({ figure: `peak server RSS, ${RSS_RECORDS} records streamed (MB)`, value: rss.shown, baseline: `${fmt(rss.perSecond)} rec/s`, target: "< 300", met: rss.mb < 300 });
  log(`the same with COST_CORE_HEAP_GROWTH_PERCENT=0`);
  const adaptiveRss = await peakRss("rss-adaptive.db", { COST_CORE_HEAP_GROWTH_PERCENT: "0" });
  record("rss_adaptive_heap_peak_mb", adaptiveRss.mb);
  rows.push({ figure: "  with COST_CORE_HEAP_GROWTH_PERCENT=0 (V8's own heap growth)", value: adaptiveRss.shown, baseline: `${fmt(adaptiveRss.perSecond)} rec/s` });

  printTable();
  if (PROFILE) await profileStreaming();
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/latest.json", `${JSON.stringify({ at: new Date().toISOString(), quick: QUICK, node: process.version, cores: cpus().length, figures, rows }, null, 2)}\n`);
  log("figures written to bench/results/latest.json");
}

async function profileStreaming(): Promise<void> {
  const dir = join("bench", "results", "profiles");
  rmSync(dir, { recursive: true, force: true });
  log(`streaming ${STREAM_RECORDS} records to a server under --cpu-prof (profiles in ${dir})`);
  const profiled = await track(startCostCore({ COST_CORE_SQLITE_PATH: join(work, "profiled.db") }, ["--cpu-prof", `--cpu-prof-dir=${dir}`]));
  const run = await streamRecords(createCostClient({ baseUrl: profiled.url }), STREAM_RECORDS, { perMessage: PER_MESSAGE, streams: 1, spreadMs: 1_000 });
  await profiled.stop();
  process.stdout.write(`CPU profile of streaming ingest (${fmt(run.perSecond)} records/s under the profiler), self time per thread:\n${summarizeProfiles(dir)}\n\n`);
}

// The store's write path on one thread, in batches of the size group commit forms.
async function storeInsertRate(total: number): Promise<number> {
  const store = createSqliteCostStore({ path: join(work, "store-only.db"), writerThread: false });
  const nowMs = Date.now();
  let inserted = 0;
  const started = performance.now();
  for (let i = 0; i < total; i += STORE_BATCH) {
    const batch: CostRecord[] = [];
    for (let j = i; j < Math.min(total, i + STORE_BATCH); j++) batch.push(domainRecord(j, nowMs - Math.floor(Math.random() * 1_000)));
    inserted += (await store.insertRecords(batch, nowMs)).length;
  }
  const perSecond = inserted / ((performance.now() - started) / 1000);
  await store.close();
  return perSecond;
}

function plainInsertRate(total: number): number {
  const db = new Database(join(work, "plain.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec("CREATE TABLE records (id TEXT PRIMARY KEY, cluster_id TEXT, units INTEGER, nanos INTEGER, ts_ms INTEGER) WITHOUT ROWID");
  const insert = db.prepare("INSERT INTO records VALUES (?, ?, ?, ?, ?)");
  const batch = db.transaction((start: number, end: number) => {
    for (let i = start; i < end; i++) insert.run(randomUUID(), CLUSTERS[i % CLUSTERS.length], 0, 2_000_000, Date.now());
  });
  const started = performance.now();
  for (let i = 0; i < total; i += PER_MESSAGE) batch(i, Math.min(total, i + PER_MESSAGE));
  const perSecond = total / ((performance.now() - started) / 1000);
  db.close();
  return perSecond;
}

async function summaryLatency(records: number): Promise<{ p50: number; p99: number }> {
  const path = join(work, `summary-${records}.db`);
  const store = createSqliteCostStore({ path, synchronous: "NORMAL" });
  const nowMs = Date.now();
  for (let i = 0; i < records; i += 5_000) {
    const batch: CostRecord[] = [];
    for (let j = i; j < Math.min(records, i + 5_000); j++) batch.push(domainRecord(j, nowMs - Math.floor(Math.random() * 45 * DAY_MS)));
    await store.insertRecords(batch, nowMs);
  }
  await store.close();
  const server = await track(startCostCore({ COST_CORE_SQLITE_PATH: path }));
  const client = createCostClient({ baseUrl: server.url });
  for (let i = 0; i < 50; i++) await client.getCostSummary({ clusterId: CLUSTERS[i % CLUSTERS.length] as string });
  const samples: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t0 = performance.now();
    await client.getCostSummary({ clusterId: CLUSTERS[i % CLUSTERS.length] as string });
    samples.push(performance.now() - t0);
  }
  await server.stop();
  return percentiles(samples);
}

// Peak RSS of a server streaming RSS_RECORDS records over 2 streams. The target is in
// MB (10^6 bytes); /proc reports KiB.
async function peakRss(file: string, env: Record<string, string>): Promise<{ mib: number; mb: number; shown: string; perSecond: number }> {
  const server = await track(startCostCore({ COST_CORE_SQLITE_PATH: join(work, file), ...env }));
  const run = await streamRecords(createCostClient({ baseUrl: server.url }), RSS_RECORDS, { perMessage: PER_MESSAGE, streams: 2, spreadMs: 1_000 });
  const mib = server.memory().peakRssMb;
  await server.stop();
  const mb = (mib * 2 ** 20) / 1e6;
  return { mib, mb, shown: `${mb.toFixed(0)} (${mib.toFixed(0)} MiB)`, perSecond: run.perSecond };
}

function domainRecord(i: number, timestampMs: number): CostRecord {
  return {
    id: randomUUID(),
    clusterId: CLUSTERS[i % CLUSTERS.length] as string,
    provider: "openai",
    operation: "chat-completion",
    model: "gpt-4",
    cost: { currency: "USD", nanos: 2_000_000n + BigInt(i % 1000) },
    timestampMs,
    traceId: "",
    metadataJson: "",
  };
}

async function track(server: Promise<ServerProcess>): Promise<ServerProcess> {
  const started = await server;
  servers.push(started);
  return started;
}

function printTable(): void {
  const header = ["figure", "value", "baseline", "ratio", "target", "met"];
  const cells = rows.map((r) => [r.figure, r.value, r.baseline ?? "", r.ratio ?? "", r.target ?? "", r.met === undefined ? "" : r.met ? "yes" : "NO"]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: string[]): string => c.map((v, i) => v.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  process.stdout.write(`\n${line(header)}\n${widths.map((w) => "-".repeat(w)).join("  ")}\n${cells.map(line).join("\n")}\n\n`);
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
const ms = (n: number): string => n.toFixed(n < 10 ? 2 : 1);
const ratio = (a: number, b: number): string => (b === 0 ? "" : (a / b).toFixed(2));
function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

try {
  await main();
} finally {
  await Promise.allSettled(servers.map((s) => s.stop()));
  rmSync(work, { recursive: true, force: true });
}
