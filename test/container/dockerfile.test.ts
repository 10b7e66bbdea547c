import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isBuiltin } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseConfig, settingsFromEnv } from "../../src/config.js";
import { NOW } from "../support/records.js";
import { startTestServer, type TestServer } from "../support/start-test-server.js";
import { argumentsOf, copiesOf, envOf, flagsOf, isIgnored, parseDockerfile, parseDockerignore, stagesOf, workdirAt, type Stage } from "./dockerfile.js";

/**
 * What can be checked of the image without a Docker engine: the Dockerfile is
 * parsed and every promise it makes is held against the repository and a running
 * server.
 */

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);
const instructions = parseDockerfile(readFileSync(path.join(repoRoot, "Dockerfile"), "utf8"));
const stages = stagesOf(instructions);
const final = stages[stages.length - 1] as Stage;
const ignoreRules = parseDockerignore(readFileSync(path.join(repoRoot, ".dockerignore"), "utf8"));
const packageJson = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };

const last = (stage: Stage, keyword: string): { args: string; line: number } | undefined => stage.instructions.filter((i) => i.keyword === keyword).pop();

/** The repository file behind a path in the final image, through the COPY that put it there; undefined if none did. */
function sourceInRepo(imagePath: string): string | undefined {
  for (const copy of copiesOf(final).reverse()) {
    if (copy.from !== undefined) continue;
    const destination = path.posix.resolve(workdirAt(final, copy.line), copy.destination);
    for (const source of copy.sources) {
      // "COPY a b ./" puts a at ./a; "COPY dir ./dir" puts dir's content at ./dir.
      const target = copy.destination.endsWith("/") && !statSync(path.join(repoRoot, source)).isDirectory() ? path.posix.join(destination, path.posix.basename(source)) : destination;
      if (imagePath === target) return source;
      if (imagePath.startsWith(`${target}/`)) return path.posix.join(source, imagePath.slice(target.length + 1));
    }
  }
  return undefined;
}

/** Packages a source file loads at run time (type-only imports are erased). */
function runtimePackagesOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [
    ...[...text.matchAll(/(?:^|[;\n])\s*(?:import|export)\s+(?!type\s)(?:[^;"'()]*?\sfrom\s*)?["']([^"']+)["']/g)].map((m) => m[1] ?? ""),
    ...[...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? ""),
  ];
  return specifiers
    .filter((s) => !s.startsWith(".") && !s.startsWith("/") && !isBuiltin(s))
    .map((s) => (s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : (s.split("/")[0] ?? s)));
}

function filesUnder(dir: string, ending: RegExp): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((name) => ending.test(name))
    .map((name) => path.join(dir, name));
}

describe("the Dockerfile, checked against the repository", () => {
  it("has a build stage and a final stage, and COPY --from names an earlier stage", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const [index, stage] of stages.entries()) {
      for (const copy of copiesOf(stage).filter((c) => c.from !== undefined)) {
        expect(stages.slice(0, index).map((s) => s.name), `COPY --from=${copy.from} on line ${copy.line}`).toContain(copy.from);
      }
    }
  });

  it("COPYs only paths that exist in the repository and that .dockerignore lets into the build context", () => {
    const copied = stages.flatMap((stage) => copiesOf(stage).filter((c) => c.from === undefined)).flatMap((c) => c.sources.map((source) => ({ source, line: c.line })));
    expect(copied.length).toBeGreaterThan(0);
    for (const { source, line } of copied) {
      expect(existsSync(path.join(repoRoot, source)), `COPY ${source} (line ${line}) exists`).toBe(true);
      expect(isIgnored(source, ignoreRules), `COPY ${source} (line ${line}) is not left out by .dockerignore`).toBe(false);
    }
  });

  it("keeps tests, data and local databases out of the build context", () => {
    for (const left of ["test/cli/run-cli.ts", "data/cost-core.db", "node_modules/x", "cost-core.db", ".git/HEAD"]) expect(isIgnored(left, ignoreRules), left).toBe(true);
    for (const kept of ["src/server.ts", "bin/cost-core.js", "package-lock.json"]) expect(isIgnored(kept, ignoreRules), kept).toBe(false);
  });

  it("starts a script that exists and is copied into the image, with the serve command", async () => {
    const cmd = argumentsOf(last(final, "CMD")?.args ?? "[]");
    expect(cmd[0]).toBe("node");
    const script = cmd[1] ?? "";
    const cmdLine = last(final, "CMD")?.line ?? 0;
    const source = sourceInRepo(path.posix.resolve(workdirAt(final, cmdLine), script));
    expect(source, `${script} is copied into the image`).toBe(script);
    expect(existsSync(path.join(repoRoot, script)), `${script} exists`).toBe(true);
    expect(cmd.slice(2)).toEqual(["serve"]);
    // The command exists in the CLI the script runs.
    const help = await run(process.execPath, [script, "serve", "--help"], { cwd: repoRoot, timeout: 30_000 });
    expect(help.stdout).toContain("Usage: cost-core serve");
  });

  it("installs with --omit=dev, and everything the server loads at run time is a production dependency", () => {
    const install = stages[0]?.instructions.find((i) => i.keyword === "RUN" && i.args.includes("npm ci"));
    expect(install?.args).toContain("--omit=dev");
    const files = [path.join(repoRoot, "bin/cost-core.js"), ...filesUnder(path.join(repoRoot, "src"), /\.ts$/), ...filesUnder(path.join(repoRoot, "gen"), /\.ts$/)];
    const needed = new Set(files.flatMap(runtimePackagesOf));
    const production = new Set(Object.keys(packageJson.dependencies ?? {}));
    expect([...needed].filter((name) => !production.has(name)).sort()).toEqual([]);
    // The scan sees what it should: the runner, the transport and the embedded store.
    for (const name of ["tsx", "@connectrpc/connect-node", "better-sqlite3"]) expect(needed).toContain(name);
  });

  it("runs as a non-root USER that owns the data volume", () => {
    const user = last(final, "USER");
    expect(user, "the final stage sets USER").toBeDefined();
    const name = (user?.args ?? "").split(":")[0] ?? "";
    expect(["", "root", "0"]).not.toContain(name);
    expect(user?.line ?? Infinity).toBeLessThan(last(final, "CMD")?.line ?? 0);

    const volume = argumentsOf(last(final, "VOLUME")?.args ?? "[]")[0] ?? "";
    expect(volume).toBe("/data");
    expect(path.posix.dirname(envOf(final)["COST_CORE_SQLITE_PATH"] ?? "")).toBe(volume);
    const chown = final.instructions.find((i) => i.keyword === "RUN" && new RegExp(`chown\\s+${name}(:\\S+)?\\s+${volume}\\b`).test(i.args));
    expect(chown, `a RUN chowns ${volume} to ${name}`).toBeDefined();
  });

  it("listens on every interface of the EXPOSEd port", () => {
    const env = envOf(final);
    expect(env["COST_CORE_HOST"]).toBe("0.0.0.0");
    expect(argumentsOf(last(final, "EXPOSE")?.args ?? "")).toEqual([env["COST_CORE_PORT"]]);
  });

  it("refuses development mode (no API keys) with the image's defaults alone: `docker run` needs a keys file or COST_CORE_INSECURE=true", () => {
    const env = envOf(final);
    expect(() => parseConfig(settingsFromEnv(env))).toThrow(ConfigError);
    expect(() => parseConfig(settingsFromEnv(env))).toThrow(/COST_CORE_KEYS_FILE/);
    const config = parseConfig(settingsFromEnv({ ...env, COST_CORE_INSECURE: "true" }));
    expect({ host: config.host, port: config.port, store: config.store.kind, path: config.store.kind === "sqlite" ? config.store.path : "" }).toEqual({
      host: "0.0.0.0",
      port: 8080,
      store: "sqlite",
      path: "/data/cost-core.db",
    });
  });

  describe("HEALTHCHECK", () => {
    let env: TestServer;
    const healthcheck = last(final, "HEALTHCHECK");
    const command = argumentsOf(flagsOf(healthcheck?.args ?? "").rest.replace(/^CMD\s+/, ""));

    beforeAll(async () => {
      env = await startTestServer({ nowMs: NOW });
    });
    afterAll(async () => {
      await env?.close();
    });

    it("asks for /healthz, which the server answers 200 while serving", async () => {
      const script = command.join(" ");
      const paths = [...script.matchAll(/(["'])(\/[\w./-]*)\1/g)].map((m) => m[2]);
      expect(paths).toEqual(["/healthz"]);
      const response = await fetch(`${env.url}/healthz`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("ok\n");
    });

    it("passes when its own command runs against a serving server, and fails when nothing listens", async () => {
      expect(command[0]).toBe("node");
      const asInImage = (port: number): Promise<{ code: number }> =>
        run(process.execPath, command.slice(1), { env: { ...process.env, ...envOf(final), COST_CORE_PORT: String(port) }, timeout: 10_000 }).then(
          () => ({ code: 0 }),
          (error: { code?: number }) => ({ code: error.code ?? -1 }),
        );
      expect(await asInImage(env.port)).toEqual({ code: 0 });
      // Port 9 (discard) has no listener here.
      expect(await asInImage(9)).toEqual({ code: 1 });
    });
  });
});
