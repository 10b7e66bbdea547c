import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SIGNATURE_HEADER } from "../../src/bridge/signature.js";
import { startReceiver, type Receiver } from "./support/receiver.js";
import { SECRET, sampleEvent, testDeliver } from "./support/fixtures.js";

/** Whole seconds, so HTTP dates (second resolution) give exact delays. */
const NOW_MS = Date.UTC(2025, 2, 10, 12, 0, 0);

describe("createDeliver()", () => {
  let receiver: Receiver;
  beforeEach(async () => {
    receiver = await startReceiver({ secret: SECRET });
  });
  afterEach(async () => {
    await receiver.close();
  });

  it("POSTs a signed structured-mode CloudEvent and stops at the first 2xx", async () => {
    const { deliver, stats } = testDeliver(receiver.url);
    const outcome = await deliver(sampleEvent("e1"), new AbortController().signal);
    expect(outcome).toEqual({ kind: "delivered", attempts: 1, status: 200 });
    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request?.contentType).toBe("application/cloudevents+json; charset=utf-8");
    expect(request?.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(request?.signatureValid).toBe(true);
    expect(stats.snapshot()).toMatchObject({ deliveryAttempts: 1, deliveryFailures: 0, retries: 0 });
  });

  it("honours Retry-After in seconds and as an HTTP date on 429 and 503", async () => {
    let n = 0;
    receiver = await restartWith(receiver, { nowSeconds: () => NOW_MS / 1_000 });
    receiver.behave(() => {
      n++;
      if (n === 1) return { kind: "answer", status: 429, headers: { "retry-after": "3" } };
      if (n === 2) return { kind: "answer", status: 503, headers: { "retry-after": new Date(NOW_MS + 7_000).toUTCString() } };
      return { kind: "answer", status: 202 };
    });
    const { deliver, delays, stats } = testDeliver(receiver.url, { now: () => NOW_MS });
    const outcome = await deliver(sampleEvent("e2"), new AbortController().signal);
    expect(outcome).toEqual({ kind: "delivered", attempts: 3, status: 202 });
    expect(delays).toEqual([3_000, 7_000]);
    expect(stats.snapshot()).toMatchObject({ deliveryAttempts: 3, deliveryFailures: 2, retries: 2 });
  });

  it("retries 500, 408 and timeouts with exponential backoff and full jitter", async () => {
    let n = 0;
    receiver.behave(() => {
      n++;
      if (n === 1) return { kind: "answer", status: 500 };
      if (n === 2) return { kind: "answer", status: 408 };
      if (n === 3) return { kind: "hang" };
      return { kind: "answer", status: 200 };
    });
    // random() = 0.5: half of 200, 400, 800 ms.
    const { deliver, delays } = testDeliver(receiver.url, { timeoutMs: 1_000 });
    const outcome = await deliver(sampleEvent("e3"), new AbortController().signal);
    expect(outcome).toMatchObject({ kind: "delivered", attempts: 4 });
    expect(delays).toEqual([100, 200, 400]);
  });

  it("times out a receiver that never answers even while garbage collection runs (a timer nothing else holds)", async () => {
    // Node 20 can collect an AbortSignal.timeout() held only by AbortSignal.any(), and its timeout then never fires.
    setFlagsFromString("--expose-gc");
    const collectGarbage = runInNewContext("gc") as () => void;
    let n = 0;
    receiver.behave(() => (++n === 1 ? { kind: "hang" } : { kind: "answer", status: 200 }));
    const { deliver, stats } = testDeliver(receiver.url, { timeoutMs: 150 });
    const collecting = setInterval(collectGarbage, 10);
    try {
      const outcome = await Promise.race([
        deliver(sampleEvent("e-gc"), new AbortController().signal),
        new Promise((resolve) => setTimeout(() => resolve("still waiting after 5 s"), 5_000)),
      ]);
      expect(outcome).toEqual({ kind: "delivered", attempts: 2, status: 200 });
      expect(stats.snapshot()).toMatchObject({ deliveryAttempts: 2, deliveryFailures: 1 });
    } finally {
      clearInterval(collecting);
    }
  });

  it("retries a refused connection until the receiver is back", async () => {
    await receiver.goDown();
    const { deliver, delays } = testDeliver(receiver.url);
    const attempt = deliver(sampleEvent("e4"), new AbortController().signal);
    // The injected sleep runs between attempts: bring the receiver back after a few.
    while (delays.length < 4) await new Promise((resolve) => setTimeout(resolve, 5));
    await receiver.comeBack();
    expect(await attempt).toMatchObject({ kind: "delivered" });
    expect(delays.length).toBeGreaterThanOrEqual(4);
    expect(receiver.uniqueIds).toEqual(new Set(["e4"]));
  });

  it("gives a refused event (4xx) up after maxAttempts, with the receiver's answer", async () => {
    receiver.behave(() => ({ kind: "answer", status: 400, body: "unknown cluster" }));
    const { deliver, delays } = testDeliver(receiver.url, { maxAttempts: 3 });
    const outcome = await deliver(sampleEvent("e5"), new AbortController().signal);
    expect(outcome).toEqual({ kind: "given-up", attempts: 3, status: 400, reason: "HTTP 400", response: "unknown cluster" });
    expect(receiver.requests).toHaveLength(3);
    expect(delays).toEqual([100, 200]);
  });

  it("returns aborted at once when its signal aborts during a hanging request", async () => {
    receiver.behave(() => ({ kind: "hang" }));
    const { deliver } = testDeliver(receiver.url, { timeoutMs: 60_000 });
    const stop = new AbortController();
    const outcome = deliver(sampleEvent("e6"), stop.signal);
    while (receiver.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    stop.abort();
    expect(await outcome).toEqual({ kind: "aborted", attempts: 1 });
  });

  it("sends the signature header under its documented name", () => {
    expect(SIGNATURE_HEADER).toBe("cost-core-signature");
  });
});

async function restartWith(old: Receiver, options: { nowSeconds: () => number }): Promise<Receiver> {
  await old.close();
  return startReceiver({ secret: SECRET, ...options });
}
