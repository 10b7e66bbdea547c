import { setMaxListeners } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AlertEventType } from "../../gen/dreamnet/cost/v1/alert_pb.js";
import { BudgetPeriod } from "../../gen/dreamnet/cost/v1/budget_pb.js";
import { createCostClient, type CostClient } from "../../src/client/index.js";
import { costRecord, nanosOf, partsOfNanos, seededRandom, usd } from "../support/records.js";
import { codeName, exportedIds, planRecords, planSlice, planTotalNanos, tally } from "./support/chaos-records.js";
import { ensureStopped, startServerProcess, type ServerProcess } from "./support/server-process.js";

const STREAMS = 1_000;
const MESSAGES = 3;
const PER_MESSAGE = 50;
const WATCHERS = 200;
const CONNECTIONS = 8;
const BACKPRESSURE = new Set(["ResourceExhausted", "Unavailable"]);
const CLUSTER = "CHAOS_LOAD";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** GET /healthz over HTTP/1.1; resolves with the status and the time it took. */
function probe(url: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/healthz`, { agent: false, timeout: 20_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
    });
    req.on("timeout", () => req.destroy(new Error("health probe timed out")));
    req.on("error", reject);
  });
}

/** Waits for `done()` to hold, checking every 50 ms, for at most `maxMs`. */
async function until(done: () => boolean, maxMs: number): Promise<void> {
  for (let waited = 0; !done() && waited < maxMs; waited += 50) await sleep(50);
}

describe.sequential("cost-core serve under 1,000 concurrent streams and 200 watchers", () => {
  const dir = mkdtempSync(join(tmpdir(), "cost-core-load-"));
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const s of servers) await ensureStopped(s);
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps answering health probes, answers only OK or backpressure, and counts every record once", { timeout: 120_000 }, async () => {
    const server = await startServerProcess(join(dir, "costs.db"), { COST_CORE_MAX_STREAMS_PER_KEY: "5000", COST_CORE_MAX_WATCHERS: "1000" });
    servers.push(server);
    const clients: CostClient[] = Array.from({ length: CONNECTIONS }, () => createCostClient({ baseUrl: server.url }));
    const plan = planRecords(STREAMS * MESSAGES * PER_MESSAGE, CLUSTER, seededRandom(0x10ad));
    const loadTotal = planTotalNanos(plan);

    // An alert that is active before the watchers connect: its snapshot tells each watcher it is in.
    await server.client.recordCost({ record: costRecord({ clusterId: "CHAOS_PRE", cost: usd(1), atMs: Date.now() - 60_000 }) });
    await server.client.setBudget({ budget: { id: "load-pre", clusterId: "CHAOS_PRE", amount: usd(0, 500_000_000), period: BudgetPeriod.MONTHLY, alertThresholds: [] } });
    // Crossed half-way through the load: every watcher must see it live.
    await server.client.setBudget({ budget: { id: "load-half", clusterId: CLUSTER, amount: partsOfNanos(loadTotal / 2n), period: BudgetPeriod.MONTHLY, alertThresholds: [] } });

    const watchAbort = new AbortController();
    setMaxListeners(0, watchAbort.signal);
    let inWatchers = 0;
    const sawLoadAlert = new Array<boolean>(WATCHERS).fill(false);
    const watcherErrors: string[] = [];
    let resumes = 0;
    const watchers = Array.from({ length: WATCHERS }, async (_, w) => {
      const client = clients[w % CONNECTIONS]!;
      let resumeAfter = "";
      let counted = false;
      while (!watchAbort.signal.aborted) {
        try {
          for await (const response of client.watchAlerts({ includeActive: resumeAfter === "", resumeAfter }, { signal: watchAbort.signal })) {
            const m = response.message;
            if (m.case === "activeAlert" && !counted) {
              counted = true;
              inWatchers++;
            } else if (m.case === "event") {
              resumeAfter = m.value.cursor;
              if (m.value.type === AlertEventType.TRIGGERED && m.value.alert?.budgetId === "load-half") sawLoadAlert[w] = true;
            } else if (m.case === "resumeRequired") {
              resumeAfter = m.value.resumeAfter;
              resumes++;
            }
          }
        } catch (error) {
          if (watchAbort.signal.aborted) return;
          watcherErrors.push(codeName(error));
          await sleep(200);
        }
      }
    });
    await until(() => inWatchers === WATCHERS, 30_000);
    expect(inWatchers).toBe(WATCHERS);

    // Health probes, one after another, for as long as the load runs.
    const probes: { status: number; ms: number }[] = [];
    let loadDone = false;
    const prober = (async () => {
      while (!loadDone) {
        probes.push(await probe(server.url));
        await sleep(100);
      }
    })();

    let opened = 0;
    async function* messages(stream: number) {
      for (let m = 0; m < MESSAGES; m++) {
        const from = (stream * MESSAGES + m) * PER_MESSAGE;
        yield { records: planSlice(plan, from, from + PER_MESSAGE) };
        // Hold every stream open until all have started (bounded), so they are truly concurrent.
        if (m === 0) {
          opened++;
          await until(() => opened >= STREAMS, 10_000);
        }
      }
    }
    const outcomes = await Promise.all(
      Array.from({ length: STREAMS }, (_, s) =>
        clients[s % CONNECTIONS]!.recordCosts(messages(s)).then(
          (response) => {
            expect(response.acceptedCount + response.duplicateCount).toBe(BigInt(MESSAGES * PER_MESSAGE));
            return "OK";
          },
          (error: unknown) => codeName(error),
        ),
      ),
    );
    loadDone = true;
    await prober;
    const { peakRssMb } = server.memory();

    for (const outcome of outcomes) expect(outcome === "OK" || BACKPRESSURE.has(outcome), `stream outcome ${outcome}`).toBe(true);
    for (const code of watcherErrors) expect(BACKPRESSURE.has(code), `watcher error ${code}`).toBe(true);
    expect(probes.length).toBeGreaterThan(0);
    for (const p of probes) expect(p.status).toBe(200);

    // Every watcher sees the alert the load raised (the feed loses nothing), bounded wait.
    await until(() => sawLoadAlert.every(Boolean), 20_000);
    expect(sawLoadAlert.filter(Boolean).length).toBe(WATCHERS);
    watchAbort.abort();
    await Promise.all(watchers);

    // Stored: every record of every OK stream, none twice, nothing not sent.
    const stored = await exportedIds(server.client, CLUSTER);
    const storedSet = new Set(stored);
    expect(storedSet.size).toBe(stored.length);
    const sent = new Set(plan.ids);
    expect(stored.every((id) => sent.has(id))).toBe(true);
    outcomes.forEach((outcome, s) => {
      if (outcome !== "OK") return;
      for (let i = s * MESSAGES * PER_MESSAGE; i < (s + 1) * MESSAGES * PER_MESSAGE; i++) expect(storedSet.has(plan.ids[i]!)).toBe(true);
    });
    const summary = (await server.client.getCostSummary({ clusterId: CLUSTER })).summary;
    const usdLine = summary?.currencies.find((c) => c.currencyCode === "USD");
    expect(usdLine?.recordCount).toBe(BigInt(stored.length));
    const report = await server.client.verifyStore({});
    expect(report.mismatches).toEqual([]);
    if (outcomes.every((o) => o === "OK")) expect(nanosOf(usdLine?.totalCost)).toBe(loadTotal);

    const ms = probes.map((p) => p.ms).sort((a, b) => a - b);
    const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!.toFixed(1);
    console.log(
      `[chaos/overload] streams=${STREAMS} outcomes=${JSON.stringify(tally(outcomes))}; watchers=${WATCHERS} (errors ${JSON.stringify(tally(watcherErrors))}, resumes ${resumes}, saw the load alert ${sawLoadAlert.filter(Boolean).length}); ` +
        `records stored=${stored.length}/${plan.ids.length}; verify mismatches=${report.mismatchCount}; peak RSS=${peakRssMb.toFixed(1)} MiB; ` +
        `health probes=${probes.length} all 200, latency ms min ${at(0)} p50 ${at(0.5)} p90 ${at(0.9)} max ${at(1)}`,
    );
  });
});
