// The alert fan-out figure alone, repeated on fresh servers:
//   node --import tsx bench/fanout-only.ts [--watchers 1000] [--alerts 20] [--connections 1] [--runs 3] [--records 5000] [--cpu-prof DIR]
// --connections spreads the watchers over that many clients (one HTTP/2 connection each);
// --cpu-prof writes the server's V8 CPU profile into DIR when it stops.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BudgetPeriod } from "../gen/dreamnet/cost/v1/budget_pb.js";
import { createCostClient, type CostClient } from "../src/client/index.js";
import { alertFanout } from "./fanout.js";
import { startCostCore } from "./processes.js";
import { CLUSTERS, streamRecords } from "./workloads.js";

const { values } = parseArgs({
  options: {
    watchers: { type: "string", default: "1000" },
    alerts: { type: "string", default: "20" },
    connections: { type: "string", default: "1" },
    runs: { type: "string", default: "3" },
    records: { type: "string", default: "5000" },
    "cpu-prof": { type: "string" },
  },
});
const watchers = Number(values.watchers);
const alerts = Number(values.alerts);
const connections = Number(values.connections);
const runs = Number(values.runs);
const records = Number(values.records);
const profileDir = values["cpu-prof"];

const CLOCK_TICKS_PER_S = 100;
const figures: { p50: number; p99: number }[] = [];
const work = mkdtempSync(join(tmpdir(), "cost-core-fanout-"));
try {
  for (let run = 1; run <= runs; run++) {
    const server = await startCostCore({
      COST_CORE_SQLITE_PATH: join(work, `fanout-${run}.db`),
      COST_CORE_MAX_STREAMS_PER_KEY: "5000",
      COST_CORE_MAX_WATCHERS: "5000",
    }, profileDir ? ["--cpu-prof", `--cpu-prof-dir=${resolve(profileDir)}`] : []);
    try {
      const clients = Array.from({ length: connections }, () => createCostClient({ baseUrl: server.url }));
      const first = clients[0] as CostClient;
      // As bench/run.ts: budgets that the spend stays under, then spend on every bench
      // cluster, so that a tiny budget is exceeded at once.
      for (const cluster of CLUSTERS) {
        await first.setBudget({ budget: { id: `bench-${cluster}`, clusterId: cluster, amount: { currencyCode: "USD", units: 1_000_000n }, period: BudgetPeriod.MONTHLY, alertThresholds: [50, 80] } });
      }
      await streamRecords(first, records, { perMessage: 500, streams: 1, spreadMs: 1_000 });
      // Server CPU of the fan-out run, less that of opening and closing the watchers
      // alone (measured after, so as not to disturb the run): what the alerts cost, a
      // figure that other load on the machine moves far less than latency.
      const before = cpuMs(server.pid);
      const { p50, p99 } = await alertFanout(clients, watchers, alerts);
      const ran = cpuMs(server.pid);
      await alertFanout(clients, watchers, 0);
      const perAlert = (ran - before - (cpuMs(server.pid) - ran)) / alerts;
      figures.push({ p50, p99 });
      process.stdout.write(
        `run ${run}: ${watchers} watchers on ${connections} connection(s), ${alerts} alerts: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms; server CPU ~${perAlert.toFixed(0)} ms per fan-out\n`,
      );
    } finally {
      await server.stop();
    }
  }
  const range = (pick: (f: { p50: number; p99: number }) => number): string =>
    `${Math.min(...figures.map(pick)).toFixed(1)}-${Math.max(...figures.map(pick)).toFixed(1)} ms`;
  process.stdout.write(`over ${runs} runs: p50 ${range((f) => f.p50)}, p99 ${range((f) => f.p99)}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** CPU time (user + system) a process has used, in ms, from /proc (Linux). */
function cpuMs(pid: number): number {
  // Fields after the command name; utime and stime are the 14th and 15th of the line, in clock ticks.
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}
