import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, rmdirSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BudgetPeriod } from "../../gen/dreamnet/cost/v1/budget_pb.js";
import type { CostRecord } from "../../gen/dreamnet/cost/v1/cost_record_pb.js";
import { partsOfNanos, seededRandom } from "../support/records.js";
import { codeName, exportedIds, planRecords, planSlice, planTotalNanos, tally } from "./support/chaos-records.js";
import { ensureStopped, startServerProcess, type ServerProcess } from "./support/server-process.js";

const MOUNT_BYTES = 64 * 1024 * 1024;
const CLUSTER = "CHAOS_FULL";

/** Mounts a small tmpfs at a new directory, or says why it cannot. */
function mountSmallFilesystem(): { dir: string } | { reason: string } {
  const dir = mkdtempSync(join(tmpdir(), "cost-core-full-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${MOUNT_BYTES}`, "tmpfs", dir], { stdio: "pipe" });
    return { dir };
  } catch (error) {
    rmdirSync(dir);
    return { reason: `cannot mount a tmpfs here (${error instanceof Error ? error.message.split("\n")[0] : String(error)}); a full disk cannot be simulated without faking it` };
  }
}

/** Writes a file until the filesystem is full. */
function fillUp(path: string): number {
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(64 * 1024, 1);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
  // The last partial block, byte by byte in small pieces.
  const tail = openSync(path, "a");
  try {
    for (;;) written += writeSync(tail, Buffer.alloc(512, 1));
  } catch {
    // full
  } finally {
    closeSync(tail);
  }
  return written;
}

const mounted = mountSmallFilesystem();
if ("reason" in mounted) console.log(`[chaos/store-failure] SKIPPED: ${mounted.reason}`);

describe.skipIf("reason" in mounted).sequential("cost-core serve when its disk fills up and frees again", () => {
  const dir = "dir" in mounted ? mounted.dir : "";
  let server: ServerProcess | undefined;
  afterAll(async () => {
    const t0 = performance.now();
    await ensureStopped(server);
    console.log(`[chaos/store-failure] stop took ${(performance.now() - t0).toFixed(0)} ms`);
    try {
      execFileSync("umount", [dir], { stdio: "pipe" });
    } catch {
      execFileSync("umount", ["-l", dir], { stdio: "pipe" });
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses writes with UNAVAILABLE while full, acknowledges nothing it did not store, and recovers by itself", { timeout: 90_000 }, async () => {
    server = await startServerProcess(join(dir, "costs.db"), { COST_CORE_SHUTDOWN_GRACE_MS: "3000" });
    const { client } = server;
    const plan = planRecords(1_000 + 8 * 4 * 1_000, CLUSTER, seededRandom(0xf011));
    const streamOf = (from: number, messages: number, perMessage: number): { records: CostRecord[] }[] =>
      Array.from({ length: messages }, (_, m) => ({ records: planSlice(plan, from + m * perMessage, from + (m + 1) * perMessage) }));
    const send = (messages: { records: CostRecord[] }[]) => client.recordCosts((async function* () { yield* messages; })());

    // Before: writes work; a budget that the later records will exceed.
    const first = streamOf(0, 2, 500);
    await send(first);
    await client.setBudget({ budget: { id: "full-budget", clusterId: CLUSTER, amount: partsOfNanos(planTotalNanos(plan) / 2n), period: BudgetPeriod.MONTHLY, alertThresholds: [50] } });

    const fillerBytes = fillUp(join(dir, "filler"));
    const streams = Array.from({ length: 8 }, (_, s) => streamOf(1_000 + s * 4 * 1_000, 4, 1_000));
    const whileFull: string[] = [];
    for (const stream of streams) {
      whileFull.push(await send(stream).then((r) => (r.acceptedCount + r.duplicateCount === 4_000n ? "OK" : `OK with ${r.acceptedCount + r.duplicateCount}`), codeName));
    }
    for (const outcome of whileFull) expect(["OK", "Unavailable"]).toContain(outcome);
    expect(whileFull).toContain("Unavailable");
    const readWhileFull = await client.getCostSummary({ clusterId: CLUSTER }).then(() => "OK", codeName);

    // Nothing acknowledged that is not stored, and no message stored in part.
    const storedWhileFull = new Set(await exportedIds(client, CLUSTER));
    let partialMessages = 0;
    streams.forEach((stream, s) => {
      for (const message of stream) {
        const stored = message.records.filter((r) => storedWhileFull.has(r.id)).length;
        if (stored !== 0 && stored !== message.records.length) partialMessages++;
        if (whileFull[s] === "OK") expect(stored).toBe(message.records.length);
      }
    });
    expect(partialMessages).toBe(0);

    // Free the disk: the same server takes writes again, with no restart.
    unlinkSync(join(dir, "filler"));
    let attempts = 0;
    for (const [s, stream] of streams.entries()) {
      if (whileFull[s] === "OK") continue;
      for (;;) {
        attempts++;
        const outcome = await send(stream).then(() => "OK", codeName);
        if (outcome === "OK") break;
        expect(outcome).toBe("Unavailable");
        expect(attempts).toBeLessThan(20);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    const stored = await exportedIds(client, CLUSTER);
    expect(stored.length).toBe(plan.ids.length);
    expect(new Set(stored)).toEqual(new Set(plan.ids));
    let report = await client.verifyStore({});
    for (let i = 0; i < 50 && report.mismatchCount > 0n; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      report = await client.verifyStore({});
    }
    expect(report.mismatches).toEqual([]);
    const problems = server.problems.map((p) => String(p.msg)).slice(0, 3);
    console.log(
      `[chaos/store-failure] tmpfs ${MOUNT_BYTES / 1_048_576} MiB, filler ${(fillerBytes / 1_048_576).toFixed(1)} MiB; streams while full ${JSON.stringify(tally(whileFull))}; ` +
        `summary read while full: ${readWhileFull}; partial messages=0; re-send attempts after freeing=${attempts}; records stored=${stored.length}; verify mismatches=${report.mismatchCount}; server warnings e.g. ${JSON.stringify(problems)}`,
    );
  });
});
