import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

/** A server running in its own process, so client and server do not share an event loop. */
export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** Resident memory now and at its peak (VmHWM), in MiB. */
  memory(): { rssMb: number; peakRssMb: number };
  stop(): Promise<void>;
}

let built = false;

/**
 * Starts `cost-core serve` on a free port with the given environment (and Node flags, e.g. --cpu-prof,
 * which NODE_OPTIONS refuses), compiled as `npm start` and the container run it (built here once).
 */
export async function startCostCore(env: Record<string, string>, nodeFlags: readonly string[] = []): Promise<ServerProcess> {
  if (!built) {
    execFileSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
    built = true;
  }
  const child = spawn(process.execPath, [...nodeFlags, "dist/src/cli/main.js", "serve", "--port", "0"], {
    env: { ...process.env, COST_CORE_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await firstMatch(child, (line) => {
    const parsed = JSON.parse(line) as { url?: string };
    return parsed.url;
  });
  return wrap(child, url);
}

/** Starts the count-only baseline server. */
export async function startNoopServer(): Promise<ServerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/noop-server.ts"], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await firstMatch(child, (line) => (JSON.parse(line) as { url?: string }).url);
  return wrap(child, url);
}

function wrap(child: ChildProcess, url: string): ServerProcess {
  const pid = child.pid as number;
  return {
    url,
    pid,
    memory() {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
      return { rssMb: kb("VmRSS") / 1024, peakRssMb: kb("VmHWM") / 1024 };
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      });
    },
  };
}

function firstMatch(child: ChildProcess, pick: (line: string) => string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    child.once("exit", (code) => reject(new Error(`server exited with ${code} before listening`)));
    lines.on("line", (line) => {
      try {
        const found = pick(line);
        if (found) resolve(found);
      } catch {
        // not a JSON line
      }
    });
  });
}
