import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csvField } from "../../src/client/csv.js";
import { decimalOf } from "../../src/client/record-rows.js";
import { DAY, NOW, partsOfNanos, seededRandom } from "../support/records.js";
import { startTestServer, type TestServer } from "../support/start-test-server.js";
import { runCli } from "./run-cli.js";

const LINES = 100_000;
const CLUSTERS = ["CLI_A", "CLI_B", "CLI_C"] as const;
const HEADER = "id,cluster_id,provider,operation,model,cost,currency,timestamp,trace_id,metadata";

/** What the generated CSV holds for one cluster. */
interface ClusterTotals {
  nanos: bigint;
  count: number;
  /** Records of the last two days before NOW. */
  lastTwoDays: number;
}

/** Report of `cost-core import --json`. */
interface ImportReport {
  readonly lines: number;
  readonly records: number;
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  readonly rejections: readonly { line: number; id: string; reason: string }[];
  readonly elapsedMs: number;
  readonly recordsPerSecond: number;
}

/**
 * Writes a CSV of `lines` records (seeded, so every run is the same) and returns
 * the exact total per cluster in nano-units. Half the timestamps are ISO 8601, half
 * epoch ms; every tenth record carries quoted JSON metadata.
 */
async function writeCostCsv(file: string, lines: number): Promise<Map<string, ClusterTotals>> {
  const random = seededRandom(20260615);
  const totals = new Map<string, ClusterTotals>(CLUSTERS.map((c) => [c, { nanos: 0n, count: 0, lastTwoDays: 0 }]));
  const out = createWriteStream(file);
  let chunk = `${HEADER}\n`;
  for (let i = 0; i < lines; i++) {
    const cluster = CLUSTERS[i % CLUSTERS.length] as string;
    const nanos = BigInt(1 + Math.floor(random() * 9_999_999));
    const atMs = NOW - Math.floor(random() * 20 * DAY);
    const total = totals.get(cluster);
    if (total) {
      total.nanos += nanos;
      total.count++;
      if (atMs >= NOW - 2 * DAY) total.lastTwoDays++;
    }
    const timestamp = i % 2 === 0 ? new Date(atMs).toISOString() : String(atMs);
    const metadata = i % 10 === 0 ? csvField(JSON.stringify({ tokens: i, prompt: "a, b" })) : "";
    chunk += `imp-${i.toString(36)}-${cluster},${cluster},openai,chat-completion,gpt-4,${decimalOf(0n, Number(nanos))},USD,${timestamp},trace-${i},${metadata}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, "drain");
      chunk = "";
    }
  }
  out.end(chunk);
  await once(out, "finish");
  return totals;
}

function reportOf(stdout: string): ImportReport {
  return JSON.parse(stdout) as ImportReport;
}

describe("cost-core import and export (the real CLI against a server on a SQLite file)", () => {
  let env: TestServer;
  let dir: string;
  let csv: string;
  let totals: Map<string, ClusterTotals>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "cost-core-cli-"));
    env = await startTestServer({ nowMs: NOW, storePath: path.join(dir, "cost-core.db") });
    csv = path.join(dir, "costs.csv");
    totals = await writeCostCsv(csv, LINES);
  });
  afterAll(async () => {
    await env?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const server = (): string[] => ["--server", env.url];

  it("imports a 100,000-line CSV, then a re-run stores nothing new, and the summaries equal the file's sums", async () => {
    const first = await runCli(["import", csv, ...server(), "--json"]);
    expect(first.stderr).toMatch(/^import: 100001\/100001 lines \(100%\), 100000 records, \d+ records\/s$/m);
    expect(first.code).toBe(0);
    const report = reportOf(first.stdout);
    expect({ ...report, elapsedMs: 0, recordsPerSecond: 0 }).toMatchObject({ lines: LINES + 1, records: LINES, accepted: LINES, duplicates: 0, rejected: 0, rejections: [] });
    console.info(`import of ${LINES} CSV lines: ${report.elapsedMs} ms in the CLI (${report.recordsPerSecond} records/s), ${first.elapsedMs} ms with process start`);

    const second = await runCli(["import", csv, ...server(), "--json"]);
    expect(second.code).toBe(0);
    expect(reportOf(second.stdout)).toMatchObject({ records: LINES, accepted: 0, duplicates: LINES, rejected: 0 });

    const client = env.client("grpc");
    for (const [clusterId, expected] of totals) {
      const summary = (await client.getCostSummary({ clusterId })).summary;
      expect(summary?.recordCount).toBe(BigInt(expected.count));
      const currency = summary?.currencies[0];
      expect(currency && { currencyCode: currency.currencyCode, units: currency.totalCost?.units, nanos: currency.totalCost?.nanos }).toEqual(partsOfNanos(expected.nanos));
    }
  });

  it("exports a cluster's last two days to CSV and JSONL that import back unchanged (every record a duplicate, none in conflict)", async () => {
    const cluster = "CLI_B";
    const expected = totals.get(cluster)?.lastTwoDays ?? 0;
    expect(expected).toBeGreaterThan(1_000);
    for (const format of ["csv", "jsonl"] as const) {
      const file = path.join(dir, `export-${cluster}.${format}`);
      const exported = await runCli(["export", "--cluster", cluster, "--start", new Date(NOW - 2 * DAY).toISOString(), "--output", file, ...server()]);
      expect(exported.stderr).toBe(`exported ${expected} records to ${file}\n`);
      expect(exported.code).toBe(0);
      const text = readFileSync(file, "utf8");
      expect(text.split("\n").filter(Boolean)).toHaveLength(format === "csv" ? expected + 1 : expected);

      const reimport = await runCli(["import", file, ...server(), "--json", "--batch-size", "250"]);
      expect(reimport.code).toBe(0);
      expect(reportOf(reimport.stdout)).toMatchObject({ records: expected, accepted: 0, duplicates: expected, rejected: 0 });
    }
  });

  it("exports a range to stdout with the exact columns import reads", async () => {
    const record = {
      id: "exact-1",
      cluster: "CLI_EXACT",
      atMs: NOW - DAY,
    };
    const file = path.join(dir, "exact.jsonl");
    writeFileSync(
      file,
      `${JSON.stringify({ id: record.id, clusterId: record.cluster, provider: "openai", operation: "chat-completion", cost: "1.5", currency: "EUR", timestamp: record.atMs, trace_id: "t-1", metadata: { model: "gpt-4o", note: 'say "hi", then go' } })}\n`,
    );
    expect((await runCli(["import", file, ...server()])).code).toBe(0);

    const exported = await runCli(["export", "--cluster", record.cluster, "--start", new Date(NOW - 2 * DAY).toISOString(), "--end", String(NOW), ...server()]);

    expect(exported.code).toBe(0);
    expect(exported.stdout).toBe(
      `${HEADER}\n` +
        `exact-1,CLI_EXACT,openai,chat-completion,gpt-4o,1.5,EUR,${new Date(record.atMs).toISOString()},t-1,"{""model"":""gpt-4o"",""note"":""say \\""hi\\"", then go""}"\n`,
    );
  });

  it("reports rejected rows by line, sends the rest, and exits 1", async () => {
    const file = path.join(dir, "mixed.csv");
    const at = new Date(NOW - DAY).toISOString();
    writeFileSync(
      file,
      [
        HEADER,
        `mixed-1,CLI_MIXED,openai,chat-completion,gpt-4,0.25,USD,${at},,`,
        ``,
        `mixed-2,CLI_MIXED,openai,chat-completion,gpt-4,0.2.5,USD,${at},,`,
        `mixed-3,bad cluster,openai,chat-completion,gpt-4,0.25,USD,${at},,`,
        `,CLI_MIXED,openai,chat-completion,gpt-4,0.25,USD,${at},,`,
        `mixed-4,CLI_MIXED,openai,chat-completion,gpt-4,0.25,USD,yesterday,,`,
        `mixed-5,CLI_MIXED,openai,chat-completion,gpt-4,0.25,USD,${at},,"{""multi"":`,
        `""line""}"`,
        `mixed-6,CLI_MIXED,openai,chat-completion,gpt-4,0.25,USD,${at},,{not json}`,
        `mixed-7,CLI_MIXED,openai,chat-completion,gpt-4,0.25,XYZ,${at},,`,
        `mixed-8,CLI_MIXED,openai,chat-completion,gpt-4,0.25,USD`,
        ``,
      ].join("\n"),
    );

    const result = await runCli(["import", file, ...server(), "--json", "--batch-size", "2"]);

    expect(result.code).toBe(1);
    expect(reportOf(result.stdout)).toEqual({
      file,
      format: "csv",
      lines: 12,
      records: 9,
      accepted: 2,
      duplicates: 0,
      rejected: 7,
      rejections: [
        { line: 4, id: "mixed-2", reason: 'cost must be a decimal amount with at most 9 decimals, such as 0.002 (got "0.2.5")' },
        { line: 5, id: "mixed-3", reason: 'cluster_id must start with a letter or digit and hold only A-Z a-z 0-9 . _ : - (got "bad cluster")' },
        { line: 6, id: "", reason: "id is required: ids make a re-run safe" },
        { line: 7, id: "mixed-4", reason: 'timestamp must be an ISO 8601 time or epoch milliseconds (got "yesterday")' },
        { line: 10, id: "mixed-6", reason: "metadata must be a JSON object (it is not valid JSON)" },
        { line: 11, id: "mixed-7", reason: 'cost.currency_code must be an ISO 4217 code such as "USD" (got "XYZ")' },
        { line: 12, id: "mixed-8", reason: "the row has 7 fields where the header has 10" },
      ],
      elapsedMs: expect.any(Number),
      recordsPerSecond: expect.any(Number),
    });
    // The record whose quoted metadata spans lines 8 and 9 was stored with it.
    const exported = await runCli(["export", "--cluster", "CLI_MIXED", "--format", "jsonl", ...server()]);
    expect(exported.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line) as { id: string; metadata?: unknown })).toMatchObject([
      { id: "mixed-1" },
      { id: "mixed-5", metadata: { multi: "line" } },
    ]);
  });

  it("says what is wrong with a bad header, and where the server is not", async () => {
    const file = path.join(dir, "bad-header.csv");
    writeFileSync(file, "id,cluster,cost\nx,y,1\n");
    const bad = await runCli(["import", file, ...server()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`error: ${file}:1: unknown column "cluster" in the header; the columns are ${HEADER}\n`);

    const down = await runCli(["import", csv, "--server", "http://127.0.0.1:9", "--max-attempts", "2", "--no-progress"]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^error: Unavailable: .*import stopped: lines 2 to \d+ may not be stored; re-running the same import is safe/m);
  });
});
