import { describe, expect, it } from "vitest";
import { backoffDelayMs, DEFAULT_BACKOFF, retryAfterMs } from "../../src/bridge/backoff.js";
import { signatureHeader, verifySignature } from "../../src/bridge/signature.js";

const SECRET = "s3cret-s3cret-s3cret";
const BODY = '{"id":"a1.triggered","specversion":"1.0"}';
const NOW = 1_741_608_000;

describe("verifySignature()", () => {
  it("accepts a header made by signatureHeader() for the same body and secret", () => {
    const header = signatureHeader(SECRET, BODY, NOW);
    expect(header).toMatch(/^t=1741608000,v1=[0-9a-f]{64}$/);
    expect(verifySignature(SECRET, header, BODY, NOW + 10, 300)).toBe(true);
    expect(verifySignature(SECRET, header, Buffer.from(BODY), NOW, 300)).toBe(true);
  });

  it("rejects another secret, a changed body, a missing or malformed header", () => {
    const header = signatureHeader(SECRET, BODY, NOW);
    expect(verifySignature("another-secret-xxxxx", header, BODY, NOW, 300)).toBe(false);
    expect(verifySignature(SECRET, header, `${BODY} `, NOW, 300)).toBe(false);
    expect(verifySignature(SECRET, undefined, BODY, NOW, 300)).toBe(false);
    expect(verifySignature(SECRET, "v1=abc", BODY, NOW, 300)).toBe(false);
    expect(verifySignature(SECRET, header.replace(/t=\d+/, `t=${NOW + 1}`), BODY, NOW, 300)).toBe(false);
    expect(verifySignature("", header, BODY, NOW, 300)).toBe(false);
  });

  it("rejects a timestamp outside the tolerance, in either direction (replays)", () => {
    const header = signatureHeader(SECRET, BODY, NOW);
    expect(verifySignature(SECRET, header, BODY, NOW + 301, 300)).toBe(false);
    expect(verifySignature(SECRET, header, BODY, NOW - 301, 300)).toBe(false);
    expect(verifySignature(SECRET, header, BODY, NOW + 300, 300)).toBe(true);
  });

  it("accepts any of several v1 values, for secret rotation", () => {
    const old = signatureHeader("old-secret-old-secret", BODY, NOW);
    const current = signatureHeader(SECRET, BODY, NOW);
    const both = `${current},${old.split(",")[1]}`;
    expect(verifySignature("old-secret-old-secret", both, BODY, NOW, 300)).toBe(true);
    expect(verifySignature(SECRET, both, BODY, NOW, 300)).toBe(true);
  });
});

describe("backoffDelayMs()", () => {
  it("draws from [0, 200 ms * 2^(retry-1)) capped at 30 s (full jitter)", () => {
    const top = (retry: number): number => backoffDelayMs(retry, DEFAULT_BACKOFF, () => 0.999999);
    expect([1, 2, 3, 4, 8, 9, 50].map(top)).toEqual([199, 399, 799, 1_599, 25_599, 29_999, 29_999]);
    expect(backoffDelayMs(5, DEFAULT_BACKOFF, () => 0)).toBe(0);
    expect(backoffDelayMs(3, DEFAULT_BACKOFF, () => 0.5)).toBe(400);
  });
});

describe("retryAfterMs()", () => {
  const nowMs = NOW * 1_000;
  it("reads delta-seconds and HTTP dates against the injected now", () => {
    expect(retryAfterMs("3", nowMs)).toBe(3_000);
    expect(retryAfterMs(new Date(nowMs + 7_000).toUTCString(), nowMs)).toBe(7_000);
    expect(retryAfterMs(new Date(nowMs - 7_000).toUTCString(), nowMs)).toBe(0);
  });

  it("ignores absent or unreadable values and caps absurd ones at an hour", () => {
    expect(retryAfterMs(null, nowMs)).toBeUndefined();
    expect(retryAfterMs("soon", nowMs)).toBeUndefined();
    expect(retryAfterMs("999999", nowMs)).toBe(3_600_000);
  });
});
