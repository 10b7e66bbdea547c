import { createHmac, timingSafeEqual } from "node:crypto";

/** The request header that carries the bridge's signature. */
export const SIGNATURE_HEADER = "cost-core-signature";

/** The HMAC-SHA256 of "<t>.<body>" under the shared secret, as lowercase hex. */
function signatureHex(secret: string, timestampSeconds: number, body: string | Uint8Array): string {
  return createHmac("sha256", secret).update(`${timestampSeconds}.`).update(body).digest("hex");
}

/** The `cost-core-signature` header value for a body sent at `nowSeconds`: `t=<unix seconds>,v1=<hex>`. */
export function signatureHeader(secret: string, body: string | Uint8Array, nowSeconds: number): string {
  const t = Math.floor(nowSeconds);
  return `t=${t},v1=${signatureHex(secret, t, body)}`;
}

/**
 * Whether a `cost-core-signature` header proves that `body` (the raw bytes as
 * received, before any JSON parsing) was sent by a holder of `secret` within
 * `toleranceSeconds` of `nowSeconds`. Several v1 values are accepted, so a
 * sender may sign with an old and a new secret while they are rotated.
 * Self-contained (node:crypto only) so receivers can copy it.
 */
export function verifySignature(secret: string, header: string | undefined, body: string | Uint8Array, nowSeconds: number, toleranceSeconds: number): boolean {
  if (!header || secret === "") return false;
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "t" && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === "v1" && /^[0-9a-f]{64}$/.test(value)) candidates.push(value);
  }
  // A stale or future timestamp means a replayed (or badly clocked) request.
  if (timestamp === undefined || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest();
  // Constant-time comparison, so response timing reveals nothing about the expected value.
  return candidates.some((candidate) => timingSafeEqual(Buffer.from(candidate, "hex"), expected));
}
