import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { CostRecord } from "../../gen/dreamnet/cost/v1/cost_record_pb.js";
import { nanosOf } from "./records.js";

/**
 * Reference computations straight from the records a test sent, written without
 * the server's code (no roll-ups, no bucket plans), to compare its answers with.
 */

/** Epoch ms of a wire Timestamp. */
export function msOf(ts: Timestamp | undefined): number {
  if (ts === undefined) throw new Error("timestamp missing");
  return Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1_000_000);
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** The calendar date ("2026-11-01") of an instant in a zone. */
export function localDate(ms: number, timeZone: string): string {
  let format = dateFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    dateFormats.set(timeZone, format);
  }
  return format.format(ms);
}

const midnights = new Map<string, number>();

/** The first instant of a local date, found by scanning quarter hours (every zone offset is a multiple of 15 minutes). */
export function localMidnight(date: string, timeZone: string): number {
  const key = `${timeZone} ${date}`;
  const known = midnights.get(key);
  if (known !== undefined) return known;
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  for (let t = Date.UTC(y, m - 1, d) - 15 * 3_600_000; t < Date.UTC(y, m - 1, d) + 15 * 3_600_000; t += 900_000) {
    if (localDate(t, timeZone) === date) {
      midnights.set(key, t);
      return t;
    }
  }
  throw new Error(`no midnight found for ${date} in ${timeZone}`);
}

/** One expected group of spend: a bucket or a breakdown key, in one currency. */
export interface ExpectedSum {
  readonly start: number;
  readonly key: string;
  readonly currency: string;
  readonly nanos: bigint;
  readonly count: bigint;
}

/**
 * Groups records by (bucket start, key, currency), keeping only those `bucketOf`
 * places (it returns undefined for records outside the request), ordered by
 * bucket start, key, then currency.
 */
export function expectedSums(
  records: readonly CostRecord[],
  bucketOf: (ms: number) => number | undefined,
  keyOf: (record: CostRecord) => string = () => "",
): ExpectedSum[] {
  const groups = new Map<string, { start: number; key: string; currency: string; nanos: bigint; count: bigint }>();
  for (const record of records) {
    const start = bucketOf(msOf(record.timestamp));
    if (start === undefined) continue;
    const key = keyOf(record);
    const currency = record.cost?.currencyCode ?? "";
    const id = `${start}|${key}|${currency}`;
    const group = groups.get(id) ?? { start, key, currency, nanos: 0n, count: 0n };
    group.nanos += nanosOf(record.cost);
    group.count += 1n;
    groups.set(id, group);
  }
  const text = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...groups.values()].sort((a, b) => a.start - b.start || text(a.key, b.key) || text(a.currency, b.currency));
}
