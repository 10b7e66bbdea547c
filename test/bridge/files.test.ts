import { execFile } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appendDeadLetters, deadLetterEntryOf, readDeadLetters } from "../../src/bridge/dead-letter.js";
import { replayDeadLetters } from "../../src/bridge/replay.js";
import { BridgeStateError, loadBridgeState, saveBridgeState } from "../../src/bridge/state-file.js";
import { recordingSleep, SECRET, sampleEvent, tempFolder } from "./support/fixtures.js";
import { startReceiver, type Receiver } from "./support/receiver.js";

describe("bridge state file", () => {
  let folder: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    folder = await tempFolder();
  });
  afterEach(async () => {
    await folder.remove();
  });

  it("is absent before the first save, then holds the last cursor, with no temp file left", async () => {
    const path = join(folder.path, "nested", "state.json");
    expect(await loadBridgeState(path)).toBeUndefined();
    await saveBridgeState(path, { cursor: "41", savedAtMs: Date.UTC(2025, 0, 1) });
    await saveBridgeState(path, { cursor: "42", savedAtMs: Date.UTC(2025, 0, 2) });
    expect(await loadBridgeState(path)).toEqual({ cursor: "42", savedAtMs: Date.UTC(2025, 0, 2) });
    expect(await readdir(join(folder.path, "nested"))).toEqual(["state.json"]);
  });

  it("refuses a damaged file instead of silently starting over", async () => {
    const path = join(folder.path, "state.json");
    await writeFile(path, "{ not json");
    await expect(loadBridgeState(path)).rejects.toBeInstanceOf(BridgeStateError);
    await writeFile(path, JSON.stringify({ version: 1, cursor: "" }));
    await expect(loadBridgeState(path)).rejects.toThrow(/has no cursor/);
  });
});

describe("replayDeadLetters()", () => {
  let folder: { path: string; remove: () => Promise<void> };
  let receiver: Receiver;
  beforeEach(async () => {
    folder = await tempFolder();
    receiver = await startReceiver({ secret: SECRET });
  });
  afterEach(async () => {
    await receiver.close();
    await folder.remove();
  });

  const entry = (id: string) => deadLetterEntryOf(sampleEvent(id), { attempts: 5, status: 400, reason: "HTTP 400", response: "no" }, Date.UTC(2025, 0, 1));

  it("removes the entries delivered, keeps the refused ones and unreadable lines, sends a repeated id once", async () => {
    const file = join(folder.path, "dead.jsonl");
    await appendDeadLetters(file, [entry("a"), entry("b"), entry("a")]);
    await writeFile(file, `${await readFile(file, "utf8")}{"torn\n`);
    receiver.behave((r) => (r.id === "b" ? { kind: "answer", status: 422 } : { kind: "answer", status: 200 }));

    const result = await replayDeadLetters({ deadLetterFile: file, endpoint: receiver.url, secret: SECRET, maxAttempts: 2, sleep: recordingSleep().sleep });
    expect(result).toMatchObject({ delivered: 1, kept: 1, invalidLines: 1, duplicates: 1 });
    expect(receiver.requests.map((r) => r.id)).toEqual(["a", "b", "b"]);
    expect(receiver.requests.every((r) => r.signatureValid)).toBe(true);
    // The body sent again is the CloudEvent as first sent.
    expect(receiver.requests[0]?.body).toBe(sampleEvent("a").body);

    const after = await readDeadLetters(file);
    expect(after.entries.map((e) => e.id)).toEqual(["b"]);
    expect(after.entries[0]).toMatchObject({ replays: 1, lastReplayReason: "HTTP 422", status: 400 });
    expect(after.invalidLines).toEqual(['{"torn']);
    expect((await readdir(folder.path)).sort()).toEqual(["dead.jsonl"]);
  });

  it("keeps everything when the receiver is down, and does nothing without a file", async () => {
    const file = join(folder.path, "dead.jsonl");
    expect(await replayDeadLetters({ deadLetterFile: file, endpoint: receiver.url, secret: SECRET })).toMatchObject({ delivered: 0, kept: 0 });
    await appendDeadLetters(file, [entry("x"), entry("y")]);
    await receiver.goDown();
    const result = await replayDeadLetters({ deadLetterFile: file, endpoint: receiver.url, secret: SECRET, maxAttempts: 2, sleep: recordingSleep().sleep });
    expect(result).toMatchObject({ delivered: 0, kept: 2 });
    expect((await readDeadLetters(file)).entries.map((e) => e.id)).toEqual(["x", "y"]);
  });

  it("picks up the work file a crashed replay left behind", async () => {
    const file = join(folder.path, "dead.jsonl");
    await appendDeadLetters(`${file}.replaying.1-1`, [entry("left-behind")]);
    await appendDeadLetters(file, [entry("new")]);
    const result = await replayDeadLetters({ deadLetterFile: file, endpoint: receiver.url, secret: SECRET });
    expect(result).toMatchObject({ delivered: 2, kept: 0 });
    expect(receiver.uniqueIds).toEqual(new Set(["left-behind", "new"]));
    expect(await readdir(folder.path)).toEqual([]);
  });

  it("runs as `cost-core bridge replay`", async () => {
    const file = join(folder.path, "dead.jsonl");
    await appendDeadLetters(file, [entry("cli-1"), entry("cli-2")]);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "bridge", "replay", "--endpoint", receiver.url, "--dead-letter-file", file, "--json"],
      { env: { ...process.env, COST_CORE_BRIDGE_SECRET: SECRET } },
    );
    expect(JSON.parse(stdout)).toMatchObject({ delivered: 2, kept: 0 });
    expect(receiver.uniqueIds).toEqual(new Set(["cli-1", "cli-2"]));
  });
});
