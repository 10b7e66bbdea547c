import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";

/** Epoch ms of a wire timestamp; undefined when unset. */
export function msOf(timestamp: Timestamp | undefined): number | undefined {
  return timestamp ? timestampMs(timestamp) : undefined;
}

/** "Mar 5, 14:03" in the reader's locale and time zone. */
export function dateTimeText(ms: number, locale: string | undefined): string {
  return new Intl.DateTimeFormat(locale, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }).format(ms);
}

/** An ISO string, for <time datetime> attributes. */
export function isoText(ms: number): string {
  return new Date(ms).toISOString();
}

const STEPS: readonly { readonly unit: Intl.RelativeTimeFormatUnit; readonly ms: number }[] = [
  { unit: "day", ms: 86_400_000 },
  { unit: "hour", ms: 3_600_000 },
  { unit: "minute", ms: 60_000 },
];

/** "in 3 days", "5 minutes ago", "now": the largest unit that fits, rounded. */
export function relativeText(ms: number, nowMs: number, locale: string | undefined): string {
  const format = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  const delta = ms - nowMs;
  for (const step of STEPS) {
    if (Math.abs(delta) >= step.ms) return format.format(Math.round(delta / step.ms), step.unit);
  }
  return format.format(0, "second");
}
