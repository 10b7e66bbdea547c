import { InvalidRequestError } from "../core/errors.js";
import type { Alert } from "../domain/alert.js";

// The opaque positions both adapters hand out, in one place so they stay the same
// token whichever store issued them.

/** The position after an alert in newest-first order. */
export function alertPageCursor(alert: Pick<Alert, "triggeredAtMs" | "id">): string {
  return `${alert.triggeredAtMs}:${alert.id}`;
}

/** The trigger time and id an alert page cursor names; INVALID_ARGUMENT for anything else. */
export function parseAlertPageCursor(token: string): { readonly triggeredAtMs: number; readonly id: string } {
  const match = /^(-?\d{1,16}):([\s\S]+)$/.exec(token);
  if (!match) throw new InvalidRequestError("page_token", "is not a token from a previous response");
  return { triggeredAtMs: Number(match[1]), id: match[2] as string };
}

/** The sequence number an audit page cursor names. */
export function parseSeqPageCursor(token: string): number {
  if (!/^\d{1,15}$/.test(token)) throw new InvalidRequestError("page_token", "is not a token from a previous response");
  return Number(token);
}

/** The sequence number a feed cursor names: 0 (the start) when absent; INVALID_ARGUMENT for anything else. */
export function feedSeqOf(after: string | undefined): number {
  if (after === undefined || after === "") return 0;
  if (!/^\d{1,15}$/.test(after)) throw new InvalidRequestError("resume_after", "is not a cursor of this feed");
  return Number(after);
}

/** Refuses a feed cursor beyond the newest sequence number ever handed out. */
export function assertFeedSeqKnown(afterSeq: number, lastSeq: number): void {
  if (afterSeq > lastSeq) throw new InvalidRequestError("resume_after", "is ahead of the feed");
}

/** Whether retention already dropped events right after the cursor (the oldest kept is further on). */
export function feedCursorExpired(afterSeq: number, oldestSeq: number | undefined, lastSeq: number): boolean {
  const oldest = oldestSeq ?? lastSeq + 1;
  return afterSeq > 0 && afterSeq + 1 < oldest;
}
