import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startBridge, type BridgeOptions, type RunningBridge } from "../../src/bridge/bridge.js";
import { EVENT_TYPES } from "../../src/bridge/cloud-events.js";
import { readDeadLetters } from "../../src/bridge/dead-letter.js";
import { replayDeadLetters } from "../../src/bridge/replay.js";
import { BridgeStateError, loadBridgeState, saveBridgeState } from "../../src/bridge/state-file.js";
import { acknowledgeAll, allAlerts, expectedAlertEventIds, overspend, startCostServer, type CostServer } from "./support/cost-server.js";
import { recordingSleep, SECRET, tempFolder } from "./support/fixtures.js";
import { startReceiver, type Receiver } from "./support/receiver.js";

/** Waits (polling, generous limit) until `check` holds; the suite never asserts on durations. */
async function until(check: () => boolean | Promise<boolean>, what: string, state: () => unknown = () => undefined): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!(await check())) throw new Error(`still waiting for: ${what} ${JSON.stringify(state()) ?? ""}`);
    },
    { timeout: 20_000, interval: 10 },
  );
}

describe("startBridge()", () => {
  let folder: { path: string; remove: () => Promise<void> };
  let server: CostServer;
  let receiver: Receiver;
  const bridges: RunningBridge[] = [];

  beforeEach(async () => {
    folder = await tempFolder();
    server = await startCostServer();
    receiver = await startReceiver({ secret: SECRET });
  });
  afterEach(async () => {
    for (const bridge of bridges.splice(0)) await bridge.stop();
    await receiver.close();
    await server.close();
    await folder.remove();
  });

  const files = () => ({ stateFile: join(folder.path, "bridge-state.json"), deadLetterFile: join(folder.path, "bridge-dead-letter.jsonl") });

  function bridge(options: Partial<BridgeOptions> = {}): RunningBridge {
    const running = startBridge({
      client: server.client(),
      endpoint: receiver.url,
      secret: SECRET,
      ...files(),
      timeoutMs: 5_000,
      spendIntervalMs: 0,
      statsLogIntervalMs: 0,
      random: () => 0.5,
      sleep: recordingSleep().sleep,
      ...options,
    });
    bridges.push(running);
    return running;
  }

  /** Resolves once the server has the bridge's WatchAlerts stream open. */
  const watching = (): Promise<void> => until(() => server.core.feed.watchers >= 1, "the bridge to open WatchAlerts");

  it("delivers every alert event through a failing, hanging and absent receiver and a crash, exactly once after dedup", async () => {
    const sleeper = recordingSleep();
    const crash = new AbortController();
    let crashed = false;
    let sleepsWhileDown = 0;
    // The receiver comes back after the bridge has retried against a closed port a few times.
    sleeper.hook = async () => {
      if (receiver.isDown && ++sleepsWhileDown >= 3) await receiver.comeBack();
    };
    receiver.behave((request) => {
      if (request.n <= 3) return { kind: "answer", status: 500, body: "database unavailable" };
      if (request.n <= 5) return { kind: "hang" };
      if (request.n === 8) return { kind: "go-down" };
      if (receiver.accepted.length >= 5 && !crashed) {
        // Processed here, but the bridge dies before it sees the 200: it must send the event again.
        crashed = true;
        return { kind: "accept-then", then: () => crash.abort() };
      }
      return { kind: "answer", status: 200 };
    });

    // A short timeout for the hanging phase; a slow machine only adds retries, never a wrong count.
    const first = bridge({ sleep: sleeper.sleep, signal: crash.signal, timeoutMs: 300 });
    await watching();
    for (const cluster of ["API_KEEPER", "SEARCH", "VISION", "SPEECH"]) await overspend(server.core, cluster, 12);
    await until(
      () => crash.signal.aborted,
      "the crash",
      () => ({ requests: receiver.requests.length, accepted: receiver.accepted.length, down: receiver.isDown, sleepsWhileDown, stats: first.stats.snapshot() }),
    );
    await first.done;
    const savedAtCrash = await loadBridgeState(files().stateFile);
    expect(savedAtCrash?.cursor).toMatch(/^\d+$/);

    // While no bridge runs: acknowledgments, which only the saved cursor can bring to the receiver.
    await acknowledgeAll(server.core);
    const second = bridge({ sleep: sleeper.sleep });
    await overspend(server.core, "EMBEDDINGS", 12);
    await acknowledgeAll(server.core);
    const expected = await expectedAlertEventIds(server.core);
    await until(() => [...expected].every((id) => receiver.uniqueIds.has(id)), "every alert event at the receiver");
    await until(() => second.stats.pendingEvents === 0, "the bridge to settle");

    const lost = [...expected].filter((id) => !receiver.uniqueIds.has(id));
    expect(lost).toEqual([]);
    expect(receiver.uniqueIds).toEqual(expected);
    expect(receiver.duplicates).toBeGreaterThanOrEqual(1);
    expect(receiver.accepted.length).toBe(receiver.uniqueIds.size + receiver.duplicates);
    expect(receiver.invalidSignatures).toBe(0);
    expect(receiver.requests.every((r) => r.signatureValid && r.contentType === "application/cloudevents+json; charset=utf-8")).toBe(true);
    expect(new Set(receiver.accepted.map((r) => r.type))).toEqual(new Set([EVENT_TYPES.alertTriggered, EVENT_TYPES.alertAcknowledged]));
    const triggered = receiver.accepted.find((r) => r.type === EVENT_TYPES.alertTriggered);
    expect(triggered?.event).toMatchObject({ specversion: "1.0", source: "/cost-core", datacontenttype: "application/json" });
    expect(triggered?.subject).toBe((triggered?.event.data as { clusterId: string }).clusterId);
    expect(triggered?.id).toBe(`${(triggered?.event.data as { id: string }).id}.triggered`);
    const retries = first.stats.retries + second.stats.retries;
    expect(first.stats.retries).toBeGreaterThanOrEqual(5);
    expect(sleepsWhileDown).toBeGreaterThanOrEqual(3);
    expect(second.stats.eventsDelivered).toBeGreaterThan(0);
    expect(second.stats.deadLettered + first.stats.deadLettered).toBe(0);
    console.log(
      `bridge crash scenario: events=${expected.size} rawRequests=${receiver.requests.length} accepted=${receiver.accepted.length} ` +
        `unique=${receiver.uniqueIds.size} duplicates=${receiver.duplicates} retries=${retries} lost=${lost.length}`,
    );
  });

  it("dead-letters a refused event after maxAttempts, moves on, and replay delivers it once the receiver accepts", async () => {
    let refusing = true;
    receiver.behave((request) => (refusing && request.subject === "REFUSED" ? { kind: "answer", status: 400, body: "unknown cluster REFUSED" } : { kind: "answer", status: 200 }));
    const running = bridge({ maxAttempts: 3 });
    await watching();
    await overspend(server.core, "REFUSED", 12);
    await overspend(server.core, "ACCEPTED", 12);
    const expected = await expectedAlertEventIds(server.core);
    const refused = (await allAlerts(server.core)).filter((a) => a.clusterId === "REFUSED").map((a) => `${a.id}.triggered`);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    await until(() => running.stats.pendingEvents === 0 && [...expected].every((id) => receiver.requests.some((r) => r.id === id)), "every event tried");

    // The bridge moved on: the events after the refused ones were delivered.
    expect(receiver.uniqueIds).toEqual(new Set([...expected].filter((id) => !refused.includes(id))));
    for (const id of refused) expect(receiver.requests.filter((r) => r.id === id)).toHaveLength(3);
    const { entries } = await readDeadLetters(files().deadLetterFile);
    expect(entries.map((e) => e.id).sort()).toEqual([...refused].sort());
    expect(entries[0]).toMatchObject({ attempts: 3, status: 400, reason: "HTTP 400", response: "unknown cluster REFUSED" });
    expect(running.stats.deadLettered).toBe(refused.length);
    await running.stop();

    refusing = false;
    const result = await replayDeadLetters({ deadLetterFile: files().deadLetterFile, endpoint: receiver.url, secret: SECRET, sleep: recordingSleep().sleep });
    expect(result).toMatchObject({ delivered: refused.length, kept: 0, invalidLines: 0 });
    expect((await readDeadLetters(files().deadLetterFile)).entries).toEqual([]);
    expect(receiver.uniqueIds).toEqual(expected);
    expect(receiver.invalidSignatures).toBe(0);
  });

  it("sends spend updates per cluster and currency, with ids stable for the same summary instant", async () => {
    await server.core.ingest.record([
      { id: "s1", clusterId: "API_KEEPER", provider: "openai", operation: "chat", model: "", cost: { currency: "USD", nanos: 2_500_000_000n }, timestampMs: server.clock.now() - 1_000, traceId: "", metadataJson: "" },
      { id: "s2", clusterId: "API_KEEPER", provider: "openai", operation: "chat", model: "", cost: { currency: "EUR", nanos: 1_000_000n }, timestampMs: server.clock.now() - 1_000, traceId: "", metadataJson: "" },
      { id: "s3", clusterId: "SEARCH", provider: "openai", operation: "chat", model: "", cost: { currency: "USD", nanos: 3n }, timestampMs: server.clock.now() - 1_000, traceId: "", metadataJson: "" },
    ]);
    const asOf = new Date(server.clock.now()).toISOString();
    const running = bridge({ spendIntervalMs: 20 });
    // The server's clock stands still, so every round repeats the same three ids.
    await until(() => receiver.accepted.filter((r) => r.type === EVENT_TYPES.spendUpdated).length >= 6, "two spend rounds");
    await running.stop();
    const ids = new Set(receiver.accepted.filter((r) => r.type === EVENT_TYPES.spendUpdated).map((r) => r.id));
    expect(ids).toEqual(new Set([`API_KEEPER/EUR/${asOf}`, `API_KEEPER/USD/${asOf}`, `SEARCH/USD/${asOf}`]));
    const usd = receiver.accepted.find((r) => r.id === `API_KEEPER/USD/${asOf}`);
    expect(usd?.subject).toBe("API_KEEPER");
    expect(usd?.event.data).toMatchObject({ clusterId: "API_KEEPER", asOfTime: asOf.replace(".000Z", "Z"), currencyCode: "USD", totalCost: { currencyCode: "USD", units: "2", nanos: 500_000_000 } });
    // The last answer may arrive after stop(): the receiver counts it, the bridge does not.
    expect(running.stats.spendUpdatesDelivered).toBeGreaterThanOrEqual(5);
  });

  it("stop() abandons the delivery in flight without advancing the cursor", async () => {
    let hang = false;
    receiver.behave(() => (hang ? { kind: "hang" } : { kind: "answer", status: 200 }));
    const running = bridge({ timeoutMs: 60_000 });
    await watching();
    await overspend(server.core, "API_KEEPER", 6);
    const firstWave = await expectedAlertEventIds(server.core);
    await until(() => [...firstWave].every((id) => receiver.uniqueIds.has(id)) && running.stats.pendingEvents === 0, "the first events");
    const before = (await loadBridgeState(files().stateFile))?.cursor;
    expect(before).toBe(running.stats.cursor);
    hang = true;
    const requestsBefore = receiver.requests.length;
    await overspend(server.core, "API_KEEPER", 12);
    await until(() => receiver.requests.length > requestsBefore, "a delivery in flight");
    expect(running.stats.pendingEvents).toBeGreaterThanOrEqual(1);
    await running.stop();
    expect((await loadBridgeState(files().stateFile))?.cursor).toBe(before);
    expect(running.stats.connected).toBe(0);
  });

  it("reconnects from its cursor when the server restarts, losing nothing", async () => {
    await server.close();
    server = await startCostServer({ storePath: join(folder.path, "cost-core.db") });
    const port = server.port;
    const sleeper = recordingSleep();
    // Real (short) pauses between reconnects while the server is away.
    sleeper.hook = () => new Promise((resolve) => setTimeout(resolve, 10));
    const running = bridge({ sleep: sleeper.sleep, client: server.client() });
    await watching();
    await overspend(server.core, "API_KEEPER", 12);
    const firstWave = await expectedAlertEventIds(server.core);
    await until(() => [...firstWave].every((id) => receiver.uniqueIds.has(id)), "the first wave");

    await server.close();
    server = await startCostServer({ storePath: join(folder.path, "cost-core.db"), port });
    await acknowledgeAll(server.core);
    await overspend(server.core, "SEARCH", 12);
    const expected = await expectedAlertEventIds(server.core);
    await until(() => [...expected].every((id) => receiver.uniqueIds.has(id)), "every event after the restart");
    expect(receiver.uniqueIds).toEqual(expected);
    expect(running.stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(receiver.duplicates).toBe(0);
  });

  it("fails with a clear error on a cursor the server does not know, or a damaged state file", async () => {
    await saveBridgeState(files().stateFile, { cursor: "999", savedAtMs: 0 });
    await expect(bridge().done).rejects.toThrow(/InvalidArgument: resume_after is ahead of the feed \(is the state file's cursor from another server/);
    await writeFile(files().stateFile, "{");
    await expect(bridge().done).rejects.toBeInstanceOf(BridgeStateError);
    expect(receiver.requests).toEqual([]);
  });

  it("restarts from the active alerts when its cursor is older than the feed's retention", async () => {
    const storePath = join(folder.path, "cost-core.db");
    await server.close();
    server = await startCostServer({ storePath });
    await overspend(server.core, "API_KEEPER", 12);
    server.clock.advance(31 * 24 * 3_600_000);
    expect(await server.core.pruneAlertEvents()).toBeGreaterThan(0);
    // A fresh server: no recent events in memory, the store alone answers.
    await server.close();
    server = await startCostServer({ storePath, nowMs: server.clock.now() });
    await saveBridgeState(files().stateFile, { cursor: "1", savedAtMs: 0 });
    const running = bridge();
    const expected = await expectedAlertEventIds(server.core);
    await until(() => [...expected].every((id) => receiver.uniqueIds.has(id)), "the active alerts");
    expect(receiver.uniqueIds).toEqual(expected);
    expect(running.stats.reconnects).toBeGreaterThanOrEqual(1);
  });

  it("writes a state file that is valid JSON with the cursor only after the receiver accepted", async () => {
    receiver.behave(() => ({ kind: "answer", status: 503 }));
    const running = bridge();
    await watching();
    await overspend(server.core, "API_KEEPER", 12);
    await until(() => running.stats.retries >= 3, "retries against a 503");
    expect(running.stats.eventsDelivered).toBe(0);
    expect(running.stats.pendingEvents).toBeGreaterThanOrEqual(1);
    expect(running.stats.oldestPendingSeconds).toBeGreaterThanOrEqual(0);
    // Heartbeats queue behind the undelivered event, so no position past it is saved: only the
    // stream's opening position ("0", the empty feed before it) may be.
    expect((await loadBridgeState(files().stateFile))?.cursor ?? "0").toBe("0");
    expect(["", "0"]).toContain(running.stats.cursor);
    receiver.behave(() => ({ kind: "answer", status: 200 }));
    await until(() => running.stats.pendingEvents === 0, "delivery once the receiver recovers");
    const text = await readFile(files().stateFile, "utf8");
    expect(JSON.parse(text)).toMatchObject({ version: 1, cursor: running.stats.cursor });
  });
});
