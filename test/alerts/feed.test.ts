import { performance } from "node:perf_hooks";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { AlertEventType } from "../../gen/dreamnet/cost/v1/alert_pb.js";
import { CostService, type WatchAlertsResponse } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import type { FeedItem } from "../../src/core/alert-feed.js";
import type { CostStore } from "../../src/core/cost-store.js";
import type { Alert } from "../../src/domain/alert.js";
import {
  createAlertsCore,
  failure,
  openWatcher,
  startAlertsServer,
  UNIT,
  usd,
  wireBudget,
  wireRecord,
  type AlertsCoreOptions,
  type AlertsServer,
  type Watcher,
} from "../support/alerts-server.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.parse("2026-03-03T12:00:00Z");

let s: AlertsServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

/**
 * A server where cluster "c1" (and "c2") already spent 100 USD this month, so every
 * budget set on them raises an EXCEEDED alert at once: one feed event per SetBudget.
 */
async function start(options: Partial<AlertsCoreOptions> = {}): Promise<AlertsServer> {
  s = await startAlertsServer({ nowMs: NOW, ...options });
  await s.client.recordCosts(
    (async function* () {
      yield { records: ["c1", "c2"].map((clusterId) => wireRecord({ clusterId, nanos: 100n * UNIT, atMs: NOW - HOUR })) };
    })(),
  );
  await s.core.engine.idle();
  return s;
}

/** Raises one EXCEEDED alert by setting budget `id` on a cluster that overspent. */
async function raise(server: AlertsServer, id: string, clusterId = "c1"): Promise<void> {
  await server.client.setBudget({ budget: wireBudget({ id, clusterId, thresholds: [] }) });
}

/** Acknowledges the alert of budget `id`. */
async function acknowledge(server: AlertsServer, id: string): Promise<void> {
  const { alerts } = await server.client.listAlerts({ pageSize: 500 });
  const alert = alerts.find((a) => a.budgetId === id);
  if (!alert) throw new Error(`no active alert for ${id}`);
  await server.client.acknowledgeAlert({ alertId: alert.id });
}

/** Opens a watcher that is surely live: with include_active and one active alert, its first message proves the server fixed its position. */
async function liveWatcher(server: AlertsServer, request: { clusterId?: string; resumeAfter?: string } = {}): Promise<{ watcher: Watcher; first: WatchAlertsResponse }> {
  const watcher = openWatcher(server.newClient(), { ...request, includeActive: true });
  const first = await watcher.next();
  if (!first) throw new Error("watcher ended at once");
  return { watcher, first };
}

/** A message in short form: "TRIGGERED b1", "ACKNOWLEDGED b1", "ACTIVE b1", "HEARTBEAT", "RESUME". */
function brief(m: WatchAlertsResponse): string {
  switch (m.message.case) {
    case "event":
      return `${AlertEventType[m.message.value.type]} ${m.message.value.alert?.budgetId}`;
    case "activeAlert":
      return `ACTIVE ${m.message.value.budgetId}`;
    case "heartbeat":
      return "HEARTBEAT";
    case "resumeRequired":
      return "RESUME";
    default:
      return "NOTHING";
  }
}

const isEventOf =
  (budgetId: string, type = AlertEventType.TRIGGERED) =>
  (m: WatchAlertsResponse): boolean =>
    m.message.case === "event" && m.message.value.type === type && m.message.value.alert?.budgetId === budgetId;

const cursorOf = (m: WatchAlertsResponse | undefined): string => (m?.message.case === "event" ? m.message.value.cursor : "");

describe("WatchAlerts", () => {
  it("replays the events after a cursor, then follows live", async () => {
    const server = await start();
    await raise(server, "a0");
    const { watcher: all } = await liveWatcher(server);
    const cursors = new Map<string, string>();
    for (const id of ["a1", "a2", "a3"]) {
      await raise(server, id);
      cursors.set(id, cursorOf((await all.readUntil(isEventOf(id))).pop()));
    }

    const resumed = openWatcher(server.newClient(), { resumeAfter: cursors.get("a1") ?? "" });
    const replayed = await resumed.readUntil(isEventOf("a3"));
    expect(replayed.map(brief)).toEqual(["TRIGGERED a2", "TRIGGERED a3"]);
    expect(replayed.map(cursorOf)).toEqual([cursors.get("a2"), cursors.get("a3")]);

    await raise(server, "a4");
    const live = await resumed.readUntil(isEventOf("a4"));
    expect(live.map(brief)).toEqual(["TRIGGERED a4"]);
    expect(cursorOf(live[0])).toBe(cursorOf((await all.readUntil(isEventOf("a4"))).pop()));
  });

  it("replays from the store what the in-memory window no longer holds, in order, then follows live", async () => {
    const server = await start({ feed: { windowEvents: 2 } });
    await raise(server, "w0");
    const { watcher: all } = await liveWatcher(server);
    const cursors: string[] = [];
    for (let i = 1; i <= 8; i++) {
      await raise(server, `w${i}`);
      cursors.push(cursorOf((await all.readUntil(isEventOf(`w${i}`))).pop()));
    }
    const resumed = openWatcher(server.newClient(), { resumeAfter: cursors[0] ?? "" });
    const replayed = await resumed.readUntil(isEventOf("w8"));
    expect(replayed.map(brief)).toEqual(["w2", "w3", "w4", "w5", "w6", "w7", "w8"].map((id) => `TRIGGERED ${id}`));
    expect(replayed.map(cursorOf)).toEqual(cursors.slice(1));
    await raise(server, "w9");
    expect((await resumed.readUntil(isEventOf("w9"))).map(brief)).toEqual(["TRIGGERED w9"]);
  });

  it("sends active alerts first with include_active and does not repeat them as TRIGGERED events", async () => {
    const server = await start();
    await raise(server, "p0");
    const { watcher: all } = await liveWatcher(server);
    await raise(server, "before");
    const cursor = cursorOf((await all.readUntil(isEventOf("before"))).pop());
    await acknowledge(server, "p0");
    await acknowledge(server, "before");
    // After the cursor: p1 and p2 stay active, p3 is acknowledged.
    server.clock.advance(HOUR);
    await raise(server, "p1");
    server.clock.advance(HOUR);
    await raise(server, "p2");
    server.clock.advance(HOUR);
    await raise(server, "p3");
    await acknowledge(server, "p3");

    const watcher = openWatcher(server.newClient(), { resumeAfter: cursor, includeActive: true });
    const replay = await watcher.readUntil(isEventOf("p3", AlertEventType.ACKNOWLEDGED));
    expect(replay.map(brief)).toEqual(["ACTIVE p2", "ACTIVE p1", "ACKNOWLEDGED p0", "ACKNOWLEDGED before", "TRIGGERED p3", "ACKNOWLEDGED p3"]);

    await raise(server, "p4");
    await acknowledge(server, "p1");
    expect((await watcher.readUntil(isEventOf("p1", AlertEventType.ACKNOWLEDGED))).map(brief)).toEqual(["TRIGGERED p4", "ACKNOWLEDGED p1"]);
  });

  it("with include_active and no cursor sends the active alerts, then only new events", async () => {
    const server = await start();
    await raise(server, "q1");
    await raise(server, "q2");
    await acknowledge(server, "q1");
    const watcher = openWatcher(server.newClient(), { includeActive: true });
    expect(brief((await watcher.next()) as WatchAlertsResponse)).toBe("ACTIVE q2");
    await raise(server, "q3");
    expect((await watcher.readUntil(isEventOf("q3"))).map(brief)).toEqual(["TRIGGERED q3"]);
  });

  it("opens every stream with a heartbeat at its starting position, so a stream cut before any event resumes without loss", async () => {
    const server = await start();
    await raise(server, "g0");
    const cut = new AbortController();
    const stream = server.newClient().watchAlerts({}, { signal: cut.signal })[Symbol.asyncIterator]();
    const first = await stream.next();
    cut.abort();
    expect(first.done ? undefined : first.value.message.case).toBe("heartbeat");
    const opening = first.done || first.value.message.case !== "heartbeat" ? "" : first.value.message.value.cursor;
    expect(opening).not.toBe("");
    // Raised while nobody watches: resuming from the opening cursor finds it, and not g0,
    // which came before that position.
    await raise(server, "g1");
    const resumed = openWatcher(server.newClient(), { resumeAfter: opening });
    expect((await resumed.readUntil(isEventOf("g1"))).map(brief)).toEqual(["TRIGGERED g1"]);
  });

  it("sends heartbeats on an idle stream, carrying the server time and the feed position", async () => {
    const server = await start({ feed: { heartbeatMs: 50 } });
    await raise(server, "h0");
    const { watcher: all } = await liveWatcher(server);
    await raise(server, "h1");
    const cursor = cursorOf((await all.readUntil(isEventOf("h1"))).pop());
    server.clock.set(NOW + DAY);

    const idle = openWatcher(server.newClient());
    const heartbeat = await idle.next();
    expect(heartbeat?.message.case).toBe("heartbeat");
    if (heartbeat?.message.case !== "heartbeat") return;
    expect({ cursor: heartbeat.message.value.cursor, time: heartbeat.message.value.time ? timestampDate(heartbeat.message.value.time).getTime() : 0 }).toEqual({
      cursor,
      time: NOW + DAY,
    });
    // Resuming from a heartbeat's cursor loses nothing.
    await raise(server, "h2");
    const resumed = openWatcher(server.newClient(), { resumeAfter: heartbeat.message.value.cursor });
    expect((await resumed.readUntil(isEventOf("h2"))).map(brief)).toEqual(["TRIGGERED h2"]);
  });

  // Regression: an empty feed handed out "" (only new events) as its position.
  it("gives heartbeats on an empty feed a cursor that loses nothing on resume", async () => {
    const server = await start({ feed: { heartbeatMs: 50 } });
    const first = openWatcher(server.newClient());
    const heartbeat = await first.next();
    first.cancel();
    if (heartbeat?.message.case !== "heartbeat") throw new Error(`expected a heartbeat, got ${heartbeat ? brief(heartbeat) : "the end"}`);
    await raise(server, "while-away");
    const resumed = openWatcher(server.newClient(), { resumeAfter: heartbeat.message.value.cursor });
    // Five heartbeats without the event mean it is not coming (waiting for messages, not for time).
    let heartbeats = 0;
    const read = await resumed.readUntil((m) => m.message.case === "event" || (m.message.case === "heartbeat" && ++heartbeats >= 5));
    expect(read.filter((m) => m.message.case === "event").map(brief)).toEqual(["TRIGGERED while-away"]);
  });

  it("shows only the events of the cluster asked for", async () => {
    const server = await start();
    await raise(server, "b-0", "c2");
    await raise(server, "a-0", "c1");
    const { watcher, first } = await liveWatcher(server, { clusterId: "c1" });
    expect(brief(first)).toBe("ACTIVE a-0");
    await raise(server, "b-1", "c2");
    await raise(server, "a-1", "c1");
    await raise(server, "b-2", "c2");
    await acknowledge(server, "b-1");
    await acknowledge(server, "a-1");
    await raise(server, "a-end", "c1");
    expect((await watcher.readUntil(isEventOf("a-end"))).map(brief)).toEqual(["TRIGGERED a-1", "ACKNOWLEDGED a-1", "TRIGGERED a-end"]);
  });

  it("refuses a resume_after that is not a cursor with INVALID_ARGUMENT", async () => {
    const server = await start();
    await raise(server, "g1");
    for (const resumeAfter of ["not a cursor", "abc", "-1", "1.5"]) {
      expect(await failure(openWatcher(server.newClient(), { resumeAfter }).next())).toEqual({ code: "InvalidArgument", message: "resume_after is not a cursor of this feed" });
    }
  });

  it("refuses a cluster_id that is not an id with INVALID_ARGUMENT", async () => {
    const server = await start();
    expect(await failure(openWatcher(server.newClient(), { clusterId: "bad cluster" }).next())).toEqual({
      code: "InvalidArgument",
      message: 'cluster_id must start with a letter or digit and hold only A-Z a-z 0-9 . _ : - (got "bad cluster")',
    });
  });

  it("refuses a resume_after ahead of the feed with INVALID_ARGUMENT", async () => {
    const server = await start();
    await raise(server, "g0");
    const { watcher } = await liveWatcher(server);
    await raise(server, "g1");
    const cursor = cursorOf((await watcher.readUntil(isEventOf("g1"))).pop());
    const ahead = String(Number(cursor) + 1);
    expect(await failure(openWatcher(server.newClient(), { resumeAfter: ahead }).next())).toEqual({ code: "InvalidArgument", message: "resume_after is ahead of the feed" });
  });

  it("refuses a resume_after older than retention with FAILED_PRECONDITION, while the newest cursor still resumes", async () => {
    const server = await start({ feed: { windowEvents: 2 } });
    await raise(server, "r0");
    const { watcher } = await liveWatcher(server);
    const cursors: string[] = [];
    for (let i = 1; i <= 5; i++) {
      await raise(server, `r${i}`);
      cursors.push(cursorOf((await watcher.readUntil(isEventOf(`r${i}`))).pop()));
    }
    server.clock.advance(31 * DAY);
    expect(await server.core.pruneAlertEvents()).toBe(6);

    const old = cursors[0] ?? "";
    expect(await failure(openWatcher(server.newClient(), { resumeAfter: old }).next())).toEqual({
      code: "FailedPrecondition",
      message: `cursor ${old} is older than the alert feed's retention; resume with include_active instead`,
    });
    const newest = openWatcher(server.newClient(), { resumeAfter: cursors[4] ?? "" });
    // A month on, spend on a fresh cluster so a new budget alerts at once.
    await server.client.recordCost({ record: wireRecord({ clusterId: "c3", nanos: 100n * UNIT, atMs: server.clock.now() - HOUR }) });
    await server.core.engine.idle();
    await raise(server, "r6", "c3");
    expect((await newest.readUntil(isEventOf("r6"))).map(brief)).toEqual(["TRIGGERED r6"]);
  });

  it("ends a slow watcher with resume_required, and resuming from its cursor delivers the rest exactly once", async () => {
    const server = await start({ feed: { windowEvents: 5 } });
    await raise(server, "warm");
    const { watcher: slow } = await liveWatcher(server);
    // Stop reading `slow`. HTTP/2 flow control and stream buffers hold some events (measured: ~620
    // of these), so raise well over that; yield between alerts as real traffic would.
    const total = 1_500;
    const ids = Array.from({ length: total }, (_, i) => `slow-${String(i).padStart(4, "0")}`);
    for (const id of ids) {
      await raise(server, id);
      await new Promise((resolve) => setImmediate(resolve));
    }

    const before = await slow.readToEnd();
    const last = before[before.length - 1];
    expect(last?.message.case).toBe("resumeRequired");
    if (last?.message.case !== "resumeRequired") return;
    const events = before.slice(0, -1);
    expect(events.every((m) => m.message.case === "event")).toBe(true);
    expect(events.length).toBeGreaterThan(0);
    expect(events.length).toBeLessThan(total);
    expect(last.message.value.reason).toBe("watcher too slow: it fell behind the feed's window");
    expect(last.message.value.resumeAfter).toBe(cursorOf(events[events.length - 1]));
    console.log(`slow watcher: received ${events.length} of ${total} events before resume_required (window 5)`);

    const resumed = openWatcher(server.newClient(), { resumeAfter: last.message.value.resumeAfter });
    const rest = await resumed.readUntil(isEventOf(ids[total - 1] ?? ""));
    const seen = [...events, ...rest].map((m) => (m.message.case === "event" ? m.message.value.alert?.budgetId : brief(m)));
    expect(seen).toEqual(ids);
  });

  it("ends live watchers with resume_required at their last cursor when the server shuts down", async () => {
    const server = await start();
    await raise(server, "z0");
    const { watcher } = await liveWatcher(server);
    await raise(server, "z1");
    const cursor = cursorOf((await watcher.readUntil(isEventOf("z1"))).pop());
    const closing = server.server.close();
    const rest = await watcher.readToEnd();
    await closing;
    expect(rest.map((m) => (m.message.case === "resumeRequired" ? m.message.value : undefined))).toEqual([
      expect.objectContaining({ resumeAfter: cursor, reason: "server shutting down" }),
    ]);
  });

  // Regression: destroying a gracefully closing session left its half-closed socket open.
  it("shuts down within the grace period even when a watcher's client never reads", async () => {
    const server = await start();
    openWatcher(server.newClient()); // never read
    await server.client.listAlerts({});
    const outcome = await Promise.race([
      server.server.close().then(() => "closed"),
      new Promise((resolve) => setTimeout(resolve, 5_000, "still open 5 s after close() with a 0.5 s grace period")),
    ]);
    expect(outcome).toBe("closed");
  });

  it("delivers every event once and in commit order to more watchers than one wake slice, with events raised while a slice is still waking", async () => {
    const server = await start({ feed: { wakePerTurn: 2 } });
    await raise(server, "s0");
    const watchers = await Promise.all(Array.from({ length: 7 }, () => liveWatcher(server)));
    // Back to back: the next commit lands while the previous event's slices are still waking.
    await Promise.all(["s1", "s2", "s3"].map((id) => raise(server, id)));
    for (const { watcher } of watchers) {
      const read = await watcher.readUntil(isEventOf("s3"));
      expect(read.map(brief).sort()).toEqual(["TRIGGERED s1", "TRIGGERED s2", "TRIGGERED s3"]);
      // Commit order is cursor order, whatever order the three calls committed in.
      expect(read.map((m) => Number(cursorOf(m)))).toEqual(read.map((m) => Number(cursorOf(m))).sort((a, b) => a - b));
    }
  });

  it("sends whole events to watchers on the Connect protocol, with the binary and the JSON codec", async () => {
    const server = await start();
    await raise(server, "j0");
    const opened = [true, false].map((useBinaryFormat) =>
      openWatcher(createClient(CostService, createConnectTransport({ baseUrl: server.url, httpVersion: "2", useBinaryFormat })), { includeActive: true }),
    );
    for (const watcher of opened) expect(brief((await watcher.next()) as WatchAlertsResponse)).toBe("ACTIVE j0");
    const { watcher: grpc } = await liveWatcher(server);
    await raise(server, "j1");
    const [expected] = await grpc.readUntil(isEventOf("j1"));
    for (const watcher of opened) expect(await watcher.next()).toEqual(expected);
  });

  it("delivers an alert once to each of 100 concurrent watchers, and reports the delay from commit to arrival", async () => {
    const committedAt = new Map<string, number>();
    const wrapStore = (store: CostStore): CostStore => ({
      ...store,
      insertAlert: async (alert, eventMs) => {
        const result = await store.insertAlert(alert, eventMs);
        if (result.created) committedAt.set(result.alert.budgetId, performance.now());
        return result;
      },
    });
    const server = await start({ wrapStore, streamLimits: { maxStreamsPerKey: 1_000 } });
    await raise(server, "l-warm");
    const watchers = await Promise.all(Array.from({ length: 100 }, () => liveWatcher(server)));

    // Each watcher notes when each TRIGGERED event arrives, by budget id.
    const rounds = Array.from({ length: 10 }, (_, i) => `l-${i}`);
    const arrivals = watchers.map(() => new Map<string, number[]>());
    let waiting: { id: string; resolve: () => void } | undefined;
    const reading = watchers.map(async ({ watcher }, w) => {
      for (;;) {
        const m = await watcher.next();
        if (!m || m.message.case !== "event" || m.message.value.type !== AlertEventType.TRIGGERED) {
          if (!m) return;
          continue;
        }
        const id = m.message.value.alert?.budgetId ?? "";
        const seen = arrivals[w] as Map<string, number[]>;
        seen.set(id, [...(seen.get(id) ?? []), performance.now()]);
        if (waiting && waiting.id === id && arrivals.every((a) => a.has(id))) waiting.resolve();
        if (id === "l-end") return;
      }
    });
    for (const id of [...rounds, "l-end"]) {
      const all = new Promise<void>((resolve) => (waiting = { id, resolve }));
      await raise(server, id);
      await all;
    }
    await Promise.all(reading);

    // Exactly once each, on every watcher.
    for (const seen of arrivals) expect([...seen.entries()].map(([id, times]) => [id, times.length])).toEqual([...rounds, "l-end"].map((id) => [id, 1]));

    const delaysOf = (ids: readonly string[]): number[] =>
      ids.flatMap((id) => arrivals.map((seen) => ((seen.get(id) ?? [])[0] ?? NaN) - (committedAt.get(id) ?? NaN))).sort((a, b) => a - b);
    const figures = (delays: readonly number[]): string => {
      const pick = (q: number): number => delays[Math.min(delays.length - 1, Math.ceil(q * delays.length) - 1)] ?? NaN;
      return `p50 ${pick(0.5).toFixed(2)} ms, p99 ${pick(0.99).toFixed(2)} ms, max ${(delays[delays.length - 1] ?? NaN).toFixed(2)} ms`;
    };
    const all = delaysOf(rounds);
    expect(all.length).toBe(1_000);
    expect(all.every((d) => Number.isFinite(d) && d >= 0)).toBe(true);
    console.log(
      `alert commit -> arrival on 100 watchers, client and server in one process: all 10 alerts (1,000 deliveries): ${figures(all)}; ` +
        `first alert: ${figures(delaysOf(rounds.slice(0, 1)))}; alerts 2-10: ${figures(delaysOf(rounds.slice(1)))}`,
    );
  });
});

describe("createAlertFeed()", () => {
  /** An EXCEEDED alert of budget `budgetId` on cluster c1, raised at NOW. */
  const alertOf = (budgetId: string): Alert => ({
    id: `alert-${budgetId}`,
    clusterId: "c1",
    budgetId,
    kind: "exceeded",
    thresholdPercent: 100,
    threshold: usd(10n * UNIT),
    currentCost: usd(100n * UNIT),
    percent: 1000,
    period: "monthly",
    periodStartMs: Date.parse("2026-03-01T00:00:00Z"),
    periodEndMs: Date.parse("2026-04-01T00:00:00Z"),
    triggeredAtMs: NOW,
    acknowledged: false,
    acknowledgedBy: "",
    acknowledgedAtMs: 0,
    acknowledgeNote: "",
  });

  it("wakes waiting watchers a slice per turn of the event loop, so the first slice's messages can leave before the last slice is woken", async () => {
    let store: CostStore | undefined;
    const built = createAlertsCore({ nowMs: NOW, feed: { wakePerTurn: 2 }, wrapStore: (raw) => (store = raw) });
    const stop = new AbortController();
    const watchers = Array.from({ length: 5 }, () => built.core.feed.watch({ signal: stop.signal }));
    try {
      for (const watcher of watchers) expect((await watcher.next()).value).toMatchObject({ kind: "heartbeat" });
      const received: FeedItem[][] = watchers.map(() => []);
      const reading = watchers.map(async (watcher, i) => {
        const { value } = await watcher.next();
        if (value) received[i]?.push(value);
      });
      await store?.insertAlert(alertOf("b1"), NOW);
      built.core.feed.notify();
      // How many watchers hold the event after each turn of the event loop.
      const counts: number[] = [];
      while (counts.at(-1) !== 5) {
        await new Promise((resolve) => setImmediate(resolve));
        counts.push(received.filter((items) => items.length > 0).length);
      }
      expect(counts.filter((n) => n > 0)).toEqual([2, 4, 5]);
      await Promise.all(reading);
      for (const items of received) expect(items.map((item) => (item.kind === "event" ? item.event.alert.budgetId : item.kind))).toEqual(["b1"]);
    } finally {
      stop.abort();
      await Promise.all(watchers.map((watcher) => watcher.return(undefined)));
      await built.close();
    }
  });
});
