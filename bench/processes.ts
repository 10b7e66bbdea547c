import { execFileSync } from "node:child_process";
import { startNodeProcess, type ServerProcess as NodeProcess } from "../test/chaos/support/server-process.js";

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
  return stoppable(await startNodeProcess([...nodeFlags, "dist/src/cli/main.js", "serve", "--port", "0"], env));
}

/** Starts the count-only baseline server. */
export async function startNoopServer(): Promise<ServerProcess> {
  return stoppable(await startNodeProcess(["--import", "tsx", "bench/noop-server.ts"], {}));
}

function stoppable(process: NodeProcess): ServerProcess {
  return {
    url: process.url,
    pid: process.pid,
    memory: () => process.memory(),
    stop: async () => {
      await process.signalAndWait("SIGTERM");
    },
  };
}
