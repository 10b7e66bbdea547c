import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { bridgeConfigFrom, mergeBridgeSettings } from "../../src/bridge/bridge-config.js";
import { loopbackUrlOf, startEmbeddedBridge } from "../../src/cli/bridge-command.js";
import { ConfigError, parseConfig } from "../../src/config.js";
import { createSilentLogger } from "../../src/logger.js";
import { expectedAlertEventIds, overspend, startCostServer, type CostServer } from "./support/cost-server.js";
import { SECRET, tempFolder } from "./support/fixtures.js";
import { startReceiver, type Receiver } from "./support/receiver.js";

describe("bridge configuration", () => {
  it("fills the documented defaults", () => {
    const problems: string[] = [];
    const config = bridgeConfigFrom(mergeBridgeSettings({ BRIDGE_ENDPOINT: "https://engine.example/events", BRIDGE_SECRET: SECRET }), problems);
    expect(problems).toEqual([]);
    expect(config).toEqual({
      endpoint: "https://engine.example/events",
      secret: SECRET,
      apiKey: "",
      stateFile: "./data/bridge-state.json",
      deadLetterFile: "./data/bridge-dead-letter.jsonl",
      spendIntervalMs: 60_000,
      timeoutMs: 10_000,
      maxAttempts: 5,
    });
  });

  it("names every bad setting", () => {
    const problems: string[] = [];
    bridgeConfigFrom(mergeBridgeSettings({ BRIDGE_ENDPOINT: "ftp://x", BRIDGE_SECRET: "short", BRIDGE_TIMEOUT_MS: "0", BRIDGE_MAX_ATTEMPTS: "many" }), problems);
    expect(problems).toEqual([
      'COST_CORE_BRIDGE_ENDPOINT must be an http:// or https:// URL (got "ftp://x")',
      "COST_CORE_BRIDGE_SECRET must be at least 16 characters: receivers check each request's signature with it. Generate one with: openssl rand -hex 32",
      'COST_CORE_BRIDGE_TIMEOUT_MS must be a whole number from 1 to 600000 (got "0")',
      'COST_CORE_BRIDGE_MAX_ATTEMPTS must be a whole number from 1 to 100 (got "many")',
    ]);
  });

  it("is part of serve's config only when COST_CORE_BRIDGE_ENDPOINT is set", () => {
    expect(parseConfig({}).bridge).toBeUndefined();
    expect(parseConfig({ BRIDGE_ENDPOINT: "http://127.0.0.1:9000/e", BRIDGE_SECRET: SECRET, BRIDGE_SPEND_INTERVAL_MS: "0" }).bridge).toMatchObject({
      endpoint: "http://127.0.0.1:9000/e",
      spendIntervalMs: 0,
    });
    expect(() => parseConfig({ BRIDGE_ENDPOINT: "http://127.0.0.1:9000/e" })).toThrow(ConfigError);
  });

  it("dials a wildcard listen address over loopback", () => {
    expect(loopbackUrlOf("http://0.0.0.0:8080")).toBe("http://127.0.0.1:8080");
    expect(loopbackUrlOf("http://[::]:8080")).toBe("http://[::1]:8080");
    expect(loopbackUrlOf("https://cost.example:443")).toBe("https://cost.example");
  });
});

describe("startEmbeddedBridge()", () => {
  let folder: { path: string; remove: () => Promise<void> };
  let server: CostServer;
  let receiver: Receiver;
  beforeEach(async () => {
    folder = await tempFolder();
    server = await startCostServer();
    receiver = await startReceiver({ secret: SECRET });
  });
  afterEach(async () => {
    await receiver.close();
    await server.close();
    await folder.remove();
  });

  it("follows the server it runs in, and stops before the server does", async () => {
    const bridge = await startEmbeddedBridge(
      {
        endpoint: receiver.url,
        secret: SECRET,
        apiKey: "",
        stateFile: join(folder.path, "state.json"),
        deadLetterFile: join(folder.path, "dead.jsonl"),
        spendIntervalMs: 0,
        timeoutMs: 1_000,
        maxAttempts: 5,
      },
      server.url,
      createSilentLogger(),
    );
    await vi.waitFor(() => expect(server.core.feed.watchers).toBe(1), { timeout: 10_000 });
    await overspend(server.core, "API_KEEPER", 12);
    const expected = await expectedAlertEventIds(server.core);
    await vi.waitFor(() => expect(receiver.uniqueIds).toEqual(expected), { timeout: 10_000 });
    await bridge.stop();
    await vi.waitFor(() => expect(server.core.feed.watchers).toBe(0), { timeout: 10_000 });
  });
});
