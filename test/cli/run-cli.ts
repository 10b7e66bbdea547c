import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** How a CLI run ended. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly elapsedMs: number;
}

/**
 * Runs `node bin/cost-core.js ...args` as its own process, as a user would. Never
 * spawnSync: the server under test answers from this same process.
 */
export function runCli(args: readonly string[], options: { readonly timeoutMs?: number } = {}): Promise<CliResult> {
  const startMs = Date.now();
  // The test says which server to use, whatever the environment says.
  // The sources under test, not a build in dist/ that may be older.
  const env: NodeJS.ProcessEnv = { ...process.env, COST_CORE_FROM_SOURCE: "1" };
  delete env["COST_CORE_URL"];
  delete env["COST_CORE_API_KEY"];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/cost-core.js", ...args], {
      cwd: repoRoot,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 50_000);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, elapsedMs: Date.now() - startMs });
    });
  });
}
