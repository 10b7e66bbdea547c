import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CostRecord } from "../../gen/dreamnet/cost/v1/cost_record_pb.js";
import { seededRandom } from "../support/records.js";
import { codeName, exportedIds, planRecords, planSlice, tally } from "./support/chaos-records.js";
import { ensureStopped, startServerProcess, type ServerProcess } from "./support/server-process.js";

const STREAMS = 8;
const PER_MESSAGE = 200;
/** Messages each stream sends before SIGTERM. */
const BEFORE_STOP = 5;
/** Messages the short streams send after SIGTERM, then they end (within the grace period). */
const SHORT_AFTER_STOP = 3;
/** The long streams keep sending (one message every 50 ms) up to this many, far past the grace period. */
const LONG_MAX = 200;
const GRACE_MS = 1_500;
const RETRYABLE = new Set(["Unavailable", "Canceled", "Aborted"]);
const CLUSTER = "CHAOS_STOP";

interface StreamRun {
  readonly sent: { records: CostRecord[] }[];
  outcome?: "ok" | string;
}

describe.sequential("cost-core serve stopped with SIGTERM while streams are open", () => {
  const dir = mkdtempSync(join(tmpdir(), "cost-core-stop-"));
  const dbPath = join(dir, "costs.db");
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const s of servers) await ensureStopped(s);
    rmSync(dir, { recursive: true, force: true });
  });

  it("ends every stream OK or retryable, stores no message in part, and a re-send completes the rest exactly", { timeout: 60_000 }, async () => {
    const plan = planRecords(STREAMS * LONG_MAX * PER_MESSAGE, CLUSTER, seededRandom(0x5709));
    const server = await startServerProcess(dbPath, { COST_CORE_SHUTDOWN_GRACE_MS: String(GRACE_MS) });
    servers.push(server);

    let resolveStopped!: () => void;
    const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
    let readyStreams = 0;
    let resolveReady!: () => void;
    const allReady = new Promise<void>((resolve) => (resolveReady = resolve));

    const runs: StreamRun[] = Array.from({ length: STREAMS }, () => ({ sent: [] }));
    async function* messages(stream: number) {
      const run = runs[stream]!;
      const long = stream % 2 === 1;
      const limit = long ? LONG_MAX : BEFORE_STOP + SHORT_AFTER_STOP;
      for (let m = 0; m < limit; m++) {
        if (m === BEFORE_STOP) {
          if (++readyStreams === STREAMS) resolveReady();
          await stopped;
        }
        if (m > BEFORE_STOP && long) await new Promise((resolve) => setTimeout(resolve, 50));
        const from = (stream * LONG_MAX + m) * PER_MESSAGE;
        const message = { records: planSlice(plan, from, from + PER_MESSAGE) };
        run.sent.push(message);
        yield message;
      }
    }

    const calls = runs.map((run, stream) =>
      server.client.recordCosts(messages(stream)).then(
        (response) => {
          expect(response.acceptedCount + response.duplicateCount).toBe(BigInt(run.sent.length * PER_MESSAGE));
          run.outcome = "ok";
        },
        (error: unknown) => void (run.outcome = codeName(error)),
      ),
    );
    await allReady;
    // Every stream has handed over its first messages: stop the server under them.
    const exit = server.signalAndWait("SIGTERM");
    resolveStopped();
    await Promise.all(calls);
    const how = await exit;

    const outcomes = runs.map((r) => r.outcome ?? "none");
    for (const outcome of outcomes) expect(outcome === "ok" || RETRYABLE.has(outcome), `stream outcome ${outcome}`).toBe(true);
    expect(how).toEqual({ code: 0, signal: null });

    // Restart on the same file: each message is stored whole or not at all.
    const restarted = await startServerProcess(dbPath);
    servers.push(restarted);
    const storedBefore = new Set(await exportedIds(restarted.client));
    let wholeMessages = 0;
    let absentMessages = 0;
    for (const run of runs) {
      for (const message of run.sent) {
        const stored = message.records.filter((r) => storedBefore.has(r.id)).length;
        expect([0, PER_MESSAGE]).toContain(stored);
        if (stored === PER_MESSAGE) wholeMessages++;
        else absentMessages++;
        if (run.outcome === "ok") expect(stored).toBe(PER_MESSAGE);
      }
    }

    // Re-send every failed stream as it was sent.
    const failed = runs.filter((r) => r.outcome !== "ok");
    for (const run of failed) {
      const response = await restarted.client.recordCosts((async function* () { yield* run.sent; })());
      expect(response.acceptedCount + response.duplicateCount).toBe(BigInt(run.sent.length * PER_MESSAGE));
    }
    const sentIds = runs.flatMap((r) => r.sent.flatMap((m) => m.records.map((rec) => rec.id)));
    const stored = await exportedIds(restarted.client);
    expect(stored.length).toBe(sentIds.length);
    expect(new Set(stored)).toEqual(new Set(sentIds));
    const report = await restarted.client.verifyStore({});
    expect(report.mismatches).toEqual([]);

    console.log(
      `[chaos/graceful-stop] streams=${STREAMS} outcomes=${JSON.stringify(tally(outcomes))} exit=${JSON.stringify(how)}; ` +
        `messages stored whole before re-send=${wholeMessages}, absent=${absentMessages}, partial=0; re-sent streams=${failed.length}; records stored=${stored.length}; verify mismatches=${report.mismatchCount}`,
    );
  });
});
