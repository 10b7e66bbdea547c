import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AlertEventType, type AlertEvent, type CostAlert } from "../../gen/dreamnet/cost/v1/alert_pb.js";
import { WatchAlertsResponseSchema, type WatchAlertsResponse } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { runAlertWatch, type WatchRequest, type WatchState } from "../../src/dashboard/.app/alert-watch.js";

type Message = MessageInitShape<typeof WatchAlertsResponseSchema>["message"];

/** One scripted WatchAlerts call: what it sends, then how it ends. */
interface ScriptedCall {
  readonly messages: readonly Message[];
  readonly error?: ConnectError;
}

const heartbeat = (cursor: string): Message => ({ case: "heartbeat", value: { cursor } });
const resume = (resumeAfter: string): Message => ({ case: "resumeRequired", value: { resumeAfter, reason: "watcher too slow" } });
const active = (id: string): Message => ({ case: "activeAlert", value: { id } });
const triggered = (id: string, cursor: string): Message => ({ case: "event", value: { cursor, type: AlertEventType.TRIGGERED, alert: { id } } });

/** Runs the watch loop over scripted calls; the call after the last one ends the loop (and is recorded). */
async function runScript(calls: readonly ScriptedCall[]) {
  const requests: WatchRequest[] = [];
  const states: WatchState[] = [];
  const sleeps: number[] = [];
  const actives: CostAlert[] = [];
  const events: AlertEvent[] = [];
  let resyncs = 0;
  const stop = new AbortController();
  await runAlertWatch({
    signal: stop.signal,
    open(request, _signal, onOpen) {
      requests.push(request);
      const call = calls[requests.length - 1];
      return (async function* (): AsyncGenerator<WatchAlertsResponse> {
        if (!call) {
          stop.abort();
          return;
        }
        onOpen();
        for (const message of call.messages) yield create(WatchAlertsResponseSchema, { message });
        if (call.error) throw call.error;
      })();
    },
    onActive: (alert) => actives.push(alert),
    onEvent: (event) => events.push(event),
    onState: (state) => states.push(state),
    onResync: () => resyncs++,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
  });
  return { requests, states, sleeps, actives, events, resyncs: () => resyncs };
}

const dropped = new ConnectError("network error", Code.Unknown);

describe("runAlertWatch()", () => {
  it("asks for the active alerts first, then resumes after the last event's cursor when the stream drops", async () => {
    const run = await runScript([{ messages: [active("a1"), triggered("a2", "3")], error: dropped }]);

    expect(run.requests).toEqual([
      { resumeAfter: "", includeActive: true },
      { resumeAfter: "3", includeActive: false },
    ]);
    expect(run.actives.map((a) => a.id)).toEqual(["a1"]);
    expect(run.events.map((e) => e.alert?.id)).toEqual(["a2"]);
    expect(run.resyncs()).toBe(0);
  });

  it("keeps the cursor of heartbeats, so an idle stream resumes where it was", async () => {
    const run = await runScript([{ messages: [heartbeat("12")], error: dropped }]);

    expect(run.requests[1]).toEqual({ resumeAfter: "12", includeActive: false });
  });

  it("resumes from the cursor a resume_required message gives", async () => {
    const run = await runScript([{ messages: [heartbeat("5"), resume("9")] }]);

    expect(run.requests[1]).toEqual({ resumeAfter: "9", includeActive: false });
    expect(run.states).toContainEqual({ kind: "retrying", inMs: 0, reason: "watcher too slow" });
  });

  it("starts over from the active alerts, and has the list reloaded, when the server refuses the cursor", async () => {
    const run = await runScript([
      { messages: [triggered("a1", "4")], error: dropped },
      { messages: [], error: new ConnectError("cursor 4 is older than the alert feed's retention", Code.FailedPrecondition) },
    ]);

    expect(run.requests).toEqual([
      { resumeAfter: "", includeActive: true },
      { resumeAfter: "4", includeActive: false },
      { resumeAfter: "", includeActive: true },
    ]);
    expect(run.resyncs()).toBe(1);
  });

  it("stops on UNAUTHENTICATED and PERMISSION_DENIED, saying why, without retrying", async () => {
    for (const code of [Code.Unauthenticated, Code.PermissionDenied]) {
      const run = await runScript([{ messages: [], error: new ConnectError("API key not recognised", code) }, { messages: [] }]);

      expect(run.requests).toHaveLength(1);
      expect(run.states.at(-1)).toEqual({
        kind: "stopped",
        failure: { code: code === Code.Unauthenticated ? "UNAUTHENTICATED" : "PERMISSION_DENIED", message: "API key not recognised", unauthenticated: code === Code.Unauthenticated },
      });
    }
  });

  it("backs off exponentially while attempts keep failing, and reconnects at once after a stream that delivered", async () => {
    const unavailable = new ConnectError("connection refused", Code.Unavailable);
    const run = await runScript([
      { messages: [], error: unavailable },
      { messages: [], error: unavailable },
      { messages: [], error: unavailable },
      { messages: [], error: unavailable },
      { messages: [heartbeat("2")], error: dropped },
    ]);

    // The first retry is immediate; then 1 s, 2 s, 4 s (no jitter with random 0.5); none after a heartbeat.
    expect(run.sleeps).toEqual([1_000, 2_000, 4_000]);
    expect(run.requests.at(-1)).toEqual({ resumeAfter: "2", includeActive: false });
  });

  it("reports live as soon as the server answers, before any message", async () => {
    const run = await runScript([{ messages: [] }]);

    expect(run.states.slice(0, 2)).toEqual([{ kind: "connecting" }, { kind: "live" }]);
  });
});
