import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AlertKind } from "../../gen/dreamnet/cost/v1/alert_pb.js";
import { BudgetPeriod } from "../../gen/dreamnet/cost/v1/budget_pb.js";
import { AlertState } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { nanosOf, partsOfNanos, seededRandom } from "../support/records.js";
import { codeName, exportedIds, planRecords, planSlice, planTotalNanos, tally } from "./support/chaos-records.js";
import { ensureStopped, startServerProcess, type ServerProcess } from "./support/server-process.js";

const RECORDS = 200_000;
const PER_MESSAGE = 500;
const MESSAGES_PER_STREAM = 20;
const PER_STREAM = PER_MESSAGE * MESSAGES_PER_STREAM;
const STREAMS = RECORDS / PER_STREAM;
const KILLS = 4;
const CLUSTER = "CHAOS_CRASH";

describe.sequential("cost-core serve killed with SIGKILL mid-ingest", () => {
  const dir = mkdtempSync(join(tmpdir(), "cost-core-crash-"));
  const dbPath = join(dir, "costs.db");
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const s of servers) await ensureStopped(s);
    rmSync(dir, { recursive: true, force: true });
  });

  it("loses nothing acknowledged, counts nothing twice and keeps roll-ups and alerts exact across 4 kills", { timeout: 150_000 }, async () => {
    const random = seededRandom(0xc0575);
    const plan = planRecords(RECORDS, CLUSTER, random);
    const expectedNanos = planTotalNanos(plan);
    // Kill points: one in each fifth of the stream (after the first), at a seeded offset.
    const killAt = Array.from({ length: KILLS }, (_, k) => Math.floor(((k + 1) + random() * 0.8) * (RECORDS / (KILLS + 1))));

    const start = async (): Promise<ServerProcess> => {
      const server = await startServerProcess(dbPath);
      servers.push(server);
      return server;
    };
    let current = start();
    const killed = new Set<ServerProcess>();
    let sent = 0;
    let nextKill = 0;
    const kill = (server: ServerProcess): void => {
      killed.add(server);
      current = (async () => {
        const how = await server.signalAndWait("SIGKILL");
        expect(how.signal).toBe("SIGKILL");
        return start();
      })();
    };

    // Budgets set before any spend: A is exceeded (50 %, 80 %, 100 %), B reaches 10 % and 20 %.
    const first = await current;
    await first.client.setBudget({ budget: { id: "crash-a", clusterId: CLUSTER, amount: partsOfNanos(expectedNanos / 2n), period: BudgetPeriod.MONTHLY, alertThresholds: [50, 80] } });
    await first.client.setBudget({ budget: { id: "crash-b", clusterId: CLUSTER, amount: partsOfNanos(expectedNanos * 4n), period: BudgetPeriod.MONTHLY, alertThresholds: [10, 20] } });

    async function* streamMessages(server: ServerProcess, stream: number) {
      for (let m = 0; m < MESSAGES_PER_STREAM; m++) {
        const from = stream * PER_STREAM + m * PER_MESSAGE;
        yield { records: planSlice(plan, from, from + PER_MESSAGE) };
        sent += PER_MESSAGE;
        if (nextKill < killAt.length && sent >= killAt[nextKill]! && !killed.has(server)) {
          nextKill++;
          kill(server);
        }
      }
    }

    const failures: string[] = [];
    let resentStreams = 0;
    let nextStream = 0;
    // Two streams at a time, so a kill usually catches one mid-message and one mid-commit.
    const worker = async (): Promise<void> => {
      while (nextStream < STREAMS) {
        const stream = nextStream++;
        for (;;) {
          const server = await current;
          try {
            const response = await server.client.recordCosts(streamMessages(server, stream));
            // Acknowledged: every record is either new or already stored by an earlier attempt.
            expect(response.acceptedCount + response.duplicateCount).toBe(BigInt(PER_STREAM));
            expect(response.rejectedCount).toBe(0n);
            break;
          } catch (error) {
            if (!killed.has(server)) throw error;
            failures.push(codeName(error));
            resentStreams++;
          }
        }
      }
    };
    await Promise.all([worker(), worker()]);
    const server = await current;

    expect(nextKill).toBe(KILLS);
    const ids = await exportedIds(server.client);
    expect(ids.length).toBe(RECORDS);
    expect(new Set(ids).size).toBe(RECORDS);
    const sentIds = new Set(plan.ids);
    expect(ids.every((id) => sentIds.has(id))).toBe(true);

    const summary = (await server.client.getCostSummary({ clusterId: CLUSTER })).summary;
    const usd = summary?.currencies.find((c) => c.currencyCode === "USD");
    expect(nanosOf(usd?.totalCost)).toBe(expectedNanos);
    expect(usd?.recordCount).toBe(BigInt(RECORDS));

    // Alerts are raised in the background after commit: give the last evaluation a moment.
    let report = await server.client.verifyStore({ maxMismatches: 20 });
    for (let i = 0; i < 50 && report.mismatchCount > 0n; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      report = await server.client.verifyStore({ maxMismatches: 20 });
    }
    expect(report.mismatches).toEqual([]);
    expect(report.mismatchCount).toBe(0n);
    expect(report.recordsChecked).toBe(BigInt(RECORDS));

    const alerts = (await server.client.listAlerts({ clusterId: CLUSTER, state: AlertState.ALL, pageSize: 500 })).alerts;
    const keys = alerts.map((a) => `${a.budgetId}|${a.period}|${a.periodStartTime?.seconds}|${AlertKind[a.kind]}|${a.thresholdPercent}`);
    expect(new Set(keys).size).toBe(keys.length);
    const spendAlerts = alerts.filter((a) => a.kind !== AlertKind.FORECAST).map((a) => `${a.budgetId} ${AlertKind[a.kind]} ${a.thresholdPercent}`);
    expect(spendAlerts.sort()).toEqual(["crash-a EXCEEDED 100", "crash-a THRESHOLD 50", "crash-a THRESHOLD 80", "crash-b THRESHOLD 10", "crash-b THRESHOLD 20"]);

    console.log(
      `[chaos/crash] kills=${KILLS} at sent records ${killAt.join(", ")}; records=${RECORDS} in ${STREAMS} streams; streams re-sent=${resentStreams} (codes ${JSON.stringify(tally(failures))}); ` +
        `records sent incl. re-sends=${sent}; stored=${ids.length}; total=${nanosOf(usd?.totalCost)} nanos USD; alerts=${alerts.length}; verify mismatches=${report.mismatchCount}; rollup rows checked=${report.rollupRowsChecked}`,
    );
  });
});
