import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { createCostClient, type CostClient } from "../../../src/client/index.js";

/** `cost-core serve` in its own process, on a free loopback port, over one SQLite file. */
export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  readonly client: CostClient;
  /** Resident memory now and at its peak (VmHWM), in MiB. */
  memory(): { rssMb: number; peakRssMb: number };
  /** JSON log lines at warn level or above, as parsed objects. */
  readonly problems: readonly Record<string, unknown>[];
  /** Sends a signal; resolves with how the process ended. */
  signalAndWait(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const MAIN = new URL("../../../src/cli/main.ts", import.meta.url).pathname;
const ROOT = new URL("../../../", import.meta.url).pathname;

/** The sources through tsx, as the tests run them. */
const FROM_SOURCE: readonly string[] = ["--import", "tsx", MAIN];

/**
 * Starts the real server as a child process and waits for its "listening" log line.
 * `program`: Node's arguments before `serve` (default: the TypeScript sources through tsx).
 */
export function startServerProcess(sqlitePath: string, env: Record<string, string> = {}, program: readonly string[] = FROM_SOURCE): Promise<ServerProcess> {
  return startNodeProcess([...program, "serve", "--port", "0"], { COST_CORE_SQLITE_PATH: sqlitePath, ...env });
}

/**
 * Runs `node ...args` from the repository root and resolves once it logs a JSON line with
 * a `url` (the server's "listening" line; the bench's count-only server prints the same).
 */
export async function startNodeProcess(args: readonly string[], env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, COST_CORE_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = once(child, "exit").then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  let stderr = "";
  void exited.then((how) => { if (how.signal !== "SIGKILL" && how.code !== 0) process.stderr.write(`cost-core serve exited ${JSON.stringify(how)}: ${stderr}\n`); });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const problems: Record<string, unknown>[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    void exited.then(({ code, signal }) => reject(new Error(`server exited (${code ?? signal}) before listening: ${stderr}`)));
    // Reading stdout to the end also keeps the server from blocking on a full pipe.
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let parsed: { url?: string; level?: number };
      try {
        parsed = JSON.parse(line) as { url?: string; level?: number };
      } catch {
        return;
      }
      if (parsed.url) resolve(parsed.url);
      if ((parsed.level ?? 0) >= 40 && problems.length < 200) problems.push(parsed);
    });
  });
  const pid = child.pid as number;
  return {
    url,
    pid,
    client: createCostClient({ baseUrl: url }),
    problems,
    exited,
    memory() {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
      return { rssMb: kb("VmRSS") / 1024, peakRssMb: kb("VmHWM") / 1024 };
    },
    signalAndWait(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Stops a server if it still runs (used in afterAll/afterEach). */
export async function ensureStopped(server: ServerProcess | undefined): Promise<void> {
  if (!server) return;
  const timer = setTimeout(() => void server.signalAndWait("SIGKILL"), 15_000);
  await server.signalAndWait("SIGTERM");
  clearTimeout(timer);
}
