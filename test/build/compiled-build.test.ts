import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { timestampFromMs } from "../../src/api/time-mapping.js";
import { ensureStopped, startServerProcess, type ServerProcess } from "../chaos/support/server-process.js";

/**
 * `npm run build`, which `npm start` and the container run: the compiled server
 * with its writer thread and dashboard, without a TypeScript loader.
 */
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const RECORDS = 30_000;

describe("the compiled build (npm run build)", () => {
  let outDir: string;
  let dataDir: string;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    // Inside the repository, so the compiled modules find node_modules as dist/ does.
    mkdirSync(join(repoRoot, "test-results"), { recursive: true });
    outDir = mkdtempSync(join(repoRoot, "test-results", "build-"));
    dataDir = mkdtempSync(join(tmpdir(), "cost-core-build-"));
    await promisify(execFile)(process.execPath, [join(repoRoot, "scripts", "build.mjs"), "--out-dir", outDir], { cwd: repoRoot, timeout: 120_000 });
    server = await startServerProcess(join(dataDir, "costs.db"), {}, [join(outDir, "src", "cli", "main.js")]);
  }, 180_000);
  afterAll(async () => {
    await ensureStopped(server);
    rmSync(outDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("compiles every module to JavaScript and copies the dashboard's page and browser sources", () => {
    const files = readdirSync(outDir, { recursive: true, encoding: "utf8" });
    for (const expected of ["src/cli/main.js", "src/store/sqlite/writer-worker.js", "gen/dreamnet/cost/v1/cost_service_pb.js", "src/dashboard/index.html", "src/dashboard/.app/main.ts"]) {
      expect(files).toContain(expected);
    }
    // The only TypeScript left is the browser code, bundled on the first request.
    expect(files.filter((f) => f.endsWith(".ts") && !f.startsWith("src/dashboard/.app/"))).toEqual([]);
  });

  it("stores a stream through its writer thread, counts a re-sent stream as duplicates and sums it", async () => {
    const client = server!.client;
    const nowMs = Date.now();
    async function* messages() {
      for (let m = 0; m < RECORDS / 1_000; m++) {
        yield {
          records: Array.from({ length: 1_000 }, (_, i) => ({
            id: `built-${m}-${i}`,
            clusterId: "BUILD",
            provider: "openai",
            operation: "chat",
            cost: { currencyCode: "USD", units: 0n, nanos: 1_000 },
            timestamp: timestampFromMs(nowMs - 1_000),
          })),
        };
      }
    }
    const first = await client.recordCosts(messages());
    const again = await client.recordCosts(messages());
    expect([first.acceptedCount, first.duplicateCount, again.acceptedCount, again.duplicateCount]).toEqual([BigInt(RECORDS), 0n, 0n, BigInt(RECORDS)]);
    const usd = (await client.getCostSummary({ clusterId: "BUILD" })).summary?.currencies.find((c) => c.currencyCode === "USD");
    expect({ units: usd?.totalCost?.units, nanos: usd?.totalCost?.nanos, records: usd?.recordCount }).toEqual({ units: 0n, nanos: RECORDS * 1_000, records: BigInt(RECORDS) });
  });

  it("serves the dashboard page and bundles its script from the copied sources", async () => {
    const page = await fetch(`${server!.url}/`, { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const script = await fetch(`${server!.url}/dashboard/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toMatch(/javascript/);
    expect((await script.text()).length).toBeGreaterThan(10_000);
  });

  it("stops with exit code 0 on SIGTERM, having logged no warning but development mode's", async () => {
    expect(await server!.signalAndWait("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(server!.problems.map((p) => p["msg"]).filter((msg) => !String(msg).startsWith("DEVELOPMENT MODE"))).toEqual([]);
  });
});
