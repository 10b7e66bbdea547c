import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBridgeStats, type BridgeStatsRecorder } from "../../../src/bridge/bridge-stats.js";
import type { OutgoingEvent } from "../../../src/bridge/cloud-events.js";
import { createDeliver, type Deliver, type DeliveryOptions, type Sleep } from "../../../src/bridge/delivery.js";
import { createSilentLogger } from "../../../src/logger.js";

/** The secret every bridge test signs with. */
export const SECRET = "test-secret-0123456789abcdef";

/** A sleep that records what it was asked for and returns at once (after `hook`, if any). */
export interface RecordingSleep {
  readonly sleep: Sleep;
  readonly delays: number[];
  /** Runs on every sleep, before it returns. */
  hook?: ((ms: number) => Promise<void> | void) | undefined;
}

/** Creates a recording sleep. */
export function recordingSleep(): RecordingSleep {
  const recorder: RecordingSleep = {
    delays: [],
    hook: undefined,
    sleep: async (ms) => {
      recorder.delays.push(ms);
      await recorder.hook?.(ms);
      // Let sockets and timers move, without waiting the delay asked for.
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
  return recorder;
}

/** A deliver function against `endpoint` with test defaults (injected sleep, short timeout). */
export function testDeliver(endpoint: string, overrides: Partial<DeliveryOptions> = {}): { deliver: Deliver; stats: BridgeStatsRecorder; delays: number[] } {
  const recorder = recordingSleep();
  const stats = overrides.stats ?? createBridgeStats(Date.now);
  const deliver = createDeliver({
    endpoint,
    secret: SECRET,
    // Generous: only tests that want a timeout make it short.
    timeoutMs: 5_000,
    maxAttempts: 3,
    maxRetryableAttempts: Number.POSITIVE_INFINITY,
    backoff: { initialMs: 200, maxMs: 30_000 },
    random: () => 0.5,
    sleep: recorder.sleep,
    now: Date.now,
    logger: createSilentLogger(),
    stats,
    ...overrides,
  });
  return { deliver, stats, delays: recorder.delays };
}

/** A minimal CloudEvent to send. */
export function sampleEvent(id: string): OutgoingEvent {
  return {
    id,
    type: "dreamnet.cost.alert.triggered.v1",
    subject: "API_KEEPER",
    body: JSON.stringify({ specversion: "1.0", id, type: "dreamnet.cost.alert.triggered.v1", source: "/cost-core", subject: "API_KEEPER", data: { n: 1 } }),
    contentType: "application/cloudevents+json; charset=utf-8",
  };
}

/** A fresh temporary folder, and a function removing it. */
export async function tempFolder(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), "cost-core-bridge-"));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
