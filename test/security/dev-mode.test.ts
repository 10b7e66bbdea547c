import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod, CostBudgetSchema } from "../../gen/dreamnet/cost/v1/budget_pb.js";
import { AlertState } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { ConfigError, parseConfig, settingsFromEnv, type RawSettings } from "../../src/config.js";
import type { CostClient } from "../../src/client/index.js";
import { MINUTE, NOW, costRecord, usd } from "../support/records.js";
import { createGrpcJsProbe, outcomeOf, startSecurityServer, type SecurityServer } from "../support/security-server.js";

/** The problems parseConfig reports for some settings; [] when it accepts them. */
function problemsOf(...layers: RawSettings[]): string[] {
  try {
    parseConfig(...layers);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
}

describe("parseConfig(): development mode (no API keys) only on loopback unless insecure", () => {
  it.each(["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "cost-core.internal"])("refuses host %s without a keys file, naming COST_CORE_HOST", (host) => {
    expect(() => parseConfig({ HOST: host })).toThrow(ConfigError);
    const problems = problemsOf({ HOST: host });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^COST_CORE_HOST is /);
    // The message says how to fix it.
    expect(problems[0]).toContain("COST_CORE_KEYS_FILE");
    expect(problems[0]).toContain("COST_CORE_INSECURE=true");
  });

  it("refuses the same host when it comes from the environment", () => {
    expect(problemsOf(settingsFromEnv({ COST_CORE_HOST: "0.0.0.0" }))[0]).toMatch(/^COST_CORE_HOST is 0\.0\.0\.0/);
  });

  it("accepts a non-loopback host without keys when INSECURE is \"true\"", () => {
    const config = parseConfig({ HOST: "0.0.0.0", INSECURE: "true" });
    expect(config).toMatchObject({ host: "0.0.0.0", insecure: true, keysFile: undefined });
    expect(parseConfig(settingsFromEnv({ COST_CORE_HOST: "0.0.0.0", COST_CORE_INSECURE: "true" }))).toMatchObject({ host: "0.0.0.0", insecure: true });
  });

  it.each(["TRUE", "yes", "1", ""])("does not take INSECURE=%j for true: it is refused and the host with it", (value) => {
    const problems = problemsOf({ HOST: "0.0.0.0", INSECURE: value });
    expect(problems.some((p) => p.startsWith("COST_CORE_INSECURE must be true or false"))).toBe(true);
    expect(problems.some((p) => p.startsWith("COST_CORE_HOST is 0.0.0.0"))).toBe(true);
  });

  it("accepts a non-loopback host when a keys file is configured", () => {
    expect(parseConfig({ HOST: "0.0.0.0", KEYS_FILE: "/etc/cost-core/keys.json" })).toMatchObject({ host: "0.0.0.0", insecure: false, keysFile: "/etc/cost-core/keys.json" });
  });

  it.each(["127.0.0.1", "localhost", "::1", "127.0.0.53"])("accepts loopback host %s without keys", (host) => {
    expect(parseConfig({ HOST: host })).toMatchObject({ host, insecure: false, keysFile: undefined });
  });

  it("defaults to 127.0.0.1 without keys, and a flag wins over the environment", () => {
    expect(parseConfig()).toMatchObject({ host: "127.0.0.1", keysFile: undefined, insecure: false });
    expect(parseConfig(settingsFromEnv({ COST_CORE_HOST: "0.0.0.0" }), { HOST: "127.0.0.1" })).toMatchObject({ host: "127.0.0.1" });
  });
});

describe("a server started without a keyRing (development mode)", () => {
  let env: SecurityServer;
  let anonymous: CostClient;

  beforeAll(async () => {
    env = await startSecurityServer({ nowMs: NOW });
    anonymous = env.client({ protocol: "grpc" });
  });

  afterAll(async () => {
    await env?.close();
  });

  it("accepts every kind of call without any key, including admin-only ListAuditEvents", async () => {
    const connect = env.client({ protocol: "connect" });
    expect({
      record: await outcomeOf(anonymous.recordCost({ record: costRecord({ id: "dev-1", clusterId: "DEV", cost: usd(5), atMs: NOW - MINUTE }) })),
      summary: await outcomeOf(connect.getCostSummary({ clusterId: "DEV" })),
      budget: await outcomeOf(
        anonymous.setBudget({ budget: create(CostBudgetSchema, { id: "dev-budget", clusterId: "DEV", amount: usd(1), period: BudgetPeriod.DAILY, alertThresholds: [50] }) }),
      ),
      audit: await outcomeOf(connect.listAuditEvents({})),
    }).toEqual({ record: "OK", summary: "OK", budget: "OK", audit: "OK" });
    const plain = await fetch(`${env.url}/dreamnet.cost.v1.CostService/GetCostSummary`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ clusterId: "DEV" }),
    });
    expect(plain.status).toBe(200);
  });

  it("records \"anonymous\" as acknowledged_by and as the audit actor", async () => {
    const [alert] = (await anonymous.listAlerts({ clusterId: "DEV", state: AlertState.ACTIVE })).alerts;
    if (!alert) throw new Error("the 1 USD budget under 5 USD of spend raised no alert");
    const acknowledged = await anonymous.acknowledgeAlert({ alertId: alert.id, note: "dev" });
    expect(acknowledged.alert).toMatchObject({ acknowledged: true, acknowledgedBy: "anonymous" });
    const events = (await anonymous.listAuditEvents({})).events;
    expect(events.map((e) => `${e.actor} ${e.action}`)).toEqual(["anonymous alert.acknowledge", "anonymous budget.create"]);
  });

  it("keeps health checking open", async () => {
    const probe = createGrpcJsProbe(env.url);
    try {
      expect(await probe.healthCheck("")).toBe("SERVING");
    } finally {
      probe.close();
    }
  });
});

describe("cost-core serve", () => {
  const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
  const tsx = path.join(repoRoot, "node_modules", ".bin", "tsx");
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "cost-core-dev-mode-"));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `cost-core serve` with only the given COST_CORE_* settings; resolves on exit or once `until` matches stdout (then stops it). */
  function serve(args: string[], until?: RegExp): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("COST_CORE_")));
    const child = spawn(tsx, ["src/cli/main.ts", "serve", ...args], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`cost-core serve did not finish in time; stdout: ${stdout} stderr: ${stderr}`));
      }, 30_000);
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
        if (until?.test(stdout)) child.kill("SIGTERM");
      });
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
      child.on("exit", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  it("refuses to start on 0.0.0.0 without keys (exit code 2, COST_CORE_HOST named)", async () => {
    const result = await serve(["--host", "0.0.0.0", "--port", "0", "--db", path.join(dir, "refused.db")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("COST_CORE_HOST is 0.0.0.0");
    expect(result.stdout).not.toContain("listening");
  });

  it("says DEVELOPMENT MODE at start on loopback without keys", async () => {
    const result = await serve(["--host", "127.0.0.1", "--port", "0", "--db", path.join(dir, "dev.db"), "--log-level", "info"], /Cost Core listening/);
    expect(result.stdout).toMatch(/DEVELOPMENT MODE: no API keys configured/);
  });
});
