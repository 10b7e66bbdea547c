import { create } from "@bufbuild/protobuf";
import { TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { FieldViolation } from "./field-violation.js";

// 0001-01-01 to 9999-12-31, the range google.protobuf.Timestamp allows.
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;

/** A wire Timestamp of epoch milliseconds. */
export function timestampFromMs(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return create(TimestampSchema, { seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 });
}

/** Epoch milliseconds of a wire Timestamp (finer digits dropped), or the violation. */
export function msFromTimestamp(ts: Timestamp, field: string): number | FieldViolation {
  if (ts.seconds < MIN_SECONDS || ts.seconds > MAX_SECONDS) {
    return { field: `${field}.seconds`, description: "must be between 0001-01-01 and 9999-12-31" };
  }
  if (ts.nanos < 0 || ts.nanos > 999_999_999) return { field: `${field}.nanos`, description: "must be between 0 and 999999999" };
  return Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1_000_000);
}
