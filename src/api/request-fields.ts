import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { RECORD_LIMITS, RESOURCE_ID_PATTERN } from "../domain/limits.js";
import { isTimeZone } from "../domain/time-zone.js";
import type { TimeRange } from "../domain/time.js";
import { invalidArgument } from "./field-violation.js";
import { isViolation, quote } from "./money-mapping.js";
import { msFromTimestamp } from "./time-mapping.js";

/** A required cluster or budget id; throws InvalidArgument naming `field`. */
export function requiredId(value: string, field: string): string {
  if (value.length === 0) throw invalidArgument({ field, description: "is required" });
  return optionalId(value, field) as string;
}

/** An optional cluster or budget id ("" means none, returned as undefined). */
export function optionalId(value: string, field: string): string | undefined {
  if (value.length === 0) return undefined;
  if (value.length > RECORD_LIMITS.maxNameLength) {
    throw invalidArgument({ field, description: `must be at most ${RECORD_LIMITS.maxNameLength} characters` });
  }
  if (!RESOURCE_ID_PATTERN.test(value)) {
    throw invalidArgument({ field, description: `must start with a letter or digit and hold only A-Z a-z 0-9 . _ : - (got ${quote(value)})` });
  }
  return value;
}

/** A page size: 0 means `fallback`, otherwise 1 to `max`. */
export function pageSize(value: number, field: string, fallback: number, max: number): number {
  if (value === 0) return fallback;
  if (value < 0 || value > max) throw invalidArgument({ field, description: `must be between 1 and ${max} (0 means ${fallback})` });
  return value;
}

/** An IANA time zone, "" meaning UTC. */
export function timeZone(value: string, field: string): string {
  if (value === "") return "UTC";
  if (!isTimeZone(value)) throw invalidArgument({ field, description: `must be an IANA time zone such as "Europe/Paris" (got ${quote(value)})` });
  return value;
}

/**
 * A time range from optional start and end timestamps: an unset end is `defaults.endMs`;
 * an unset start is `defaults.startMs`, or `defaults.lengthMs` before the end. The
 * start must come first.
 */
export function timeRange(
  start: Timestamp | undefined,
  end: Timestamp | undefined,
  defaults: { readonly endMs: number; readonly lengthMs: number } | { readonly endMs: number; readonly startMs: number },
  fields: { readonly start: string; readonly end: string } = { start: "start_time", end: "end_time" },
): TimeRange {
  const toMs = end ? msFromTimestamp(end, fields.end) : defaults.endMs;
  if (isViolation(toMs)) throw invalidArgument(toMs);
  const fromMs = start ? msFromTimestamp(start, fields.start) : "startMs" in defaults ? defaults.startMs : toMs - defaults.lengthMs;
  if (isViolation(fromMs)) throw invalidArgument(fromMs);
  if (fromMs >= toMs) throw invalidArgument({ field: fields.start, description: `must be before ${fields.end}` });
  return { fromMs, toMs };
}

/** An opaque page token holding the position to continue after. */
export function encodePageToken(after: string): string {
  return Buffer.from(JSON.stringify({ a: after }), "utf8").toString("base64url");
}

/** The position inside a page token ("" means the first page); InvalidArgument for anything this server did not issue. */
export function decodePageToken(token: string, field = "page_token"): string | undefined {
  if (token === "") return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (typeof parsed === "object" && parsed !== null && "a" in parsed && typeof parsed.a === "string") return parsed.a;
  } catch {
    // fall through to the error below
  }
  throw invalidArgument({ field, description: "is not a token from a previous response" });
}
