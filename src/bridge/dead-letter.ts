import { readFile } from "node:fs/promises";
import { appendDurably, isNotFound } from "./durable-file.js";
import type { OutgoingEvent } from "./cloud-events.js";

/** One line of the dead-letter file: an event the receiver refused, with why. */
export interface DeadLetterEntry {
  /** The CloudEvent id. */
  readonly id: string;
  readonly type: string;
  readonly subject: string;
  /** When it was given up (RFC 3339). */
  readonly deadLetteredAt: string;
  /** Attempts made before giving up. */
  readonly attempts: number;
  /** The last HTTP status, when there was an answer. */
  readonly status?: number | undefined;
  /** Why it was given up, e.g. "HTTP 400". */
  readonly reason: string;
  /** The start of the receiver's last answer (at most 1,024 characters), for a person to read. */
  readonly response?: string | undefined;
  /** The CloudEvent as sent (structured mode); replay sends exactly this again. */
  readonly event: Readonly<Record<string, unknown>>;
  /** Replays tried so far, and the last one's outcome (set by `bridge replay`). */
  readonly replays?: number | undefined;
  readonly lastReplayAt?: string | undefined;
  readonly lastReplayReason?: string | undefined;
}

/** A dead-letter entry from an event and the outcome that gave it up. */
export function deadLetterEntryOf(event: OutgoingEvent, failure: { attempts: number; status?: number | undefined; reason: string; response?: string | undefined }, atMs: number): DeadLetterEntry {
  return {
    id: event.id,
    type: event.type,
    subject: event.subject,
    deadLetteredAt: new Date(atMs).toISOString(),
    attempts: failure.attempts,
    status: failure.status,
    reason: failure.reason,
    response: failure.response,
    event: JSON.parse(event.body) as Record<string, unknown>,
  };
}

/** The event of an entry, ready to send again (same body, same id). */
export function outgoingEventOf(entry: DeadLetterEntry): OutgoingEvent {
  return {
    id: entry.id,
    type: entry.type,
    subject: entry.subject,
    body: JSON.stringify(entry.event),
    contentType: "application/cloudevents+json; charset=utf-8",
  };
}

/** Appends entries as JSON Lines and fsyncs before resolving. */
export async function appendDeadLetters(path: string, entries: readonly DeadLetterEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await appendDurably(path, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(""));
}

/** The lines of a dead-letter file: entries, and lines that are not entries (kept as they are). */
export interface DeadLetterContent {
  readonly entries: DeadLetterEntry[];
  readonly invalidLines: string[];
}

/** Reads a dead-letter file; empty when it does not exist. */
export async function readDeadLetters(path: string): Promise<DeadLetterContent> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (isNotFound(error)) return { entries: [], invalidLines: [] };
    throw error;
  }
  const entries: DeadLetterEntry[] = [];
  const invalidLines: string[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const entry = entryFromLine(line);
    if (entry) entries.push(entry);
    else invalidLines.push(line);
  }
  return { entries, invalidLines };
}

function entryFromLine(line: string): DeadLetterEntry | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    // A torn last line (crash mid-append) or a hand edit.
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const entry = parsed as Partial<DeadLetterEntry>;
  const valid =
    typeof entry.id === "string" && typeof entry.type === "string" && typeof entry.subject === "string" && typeof entry.event === "object" && entry.event !== null;
  return valid ? (entry as DeadLetterEntry) : undefined;
}
