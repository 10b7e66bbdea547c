import { readdir, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { createSilentLogger, type Logger } from "../logger.js";
import { DEFAULT_BACKOFF, type BackoffPolicy } from "./backoff.js";
import { createBridgeStats, type BridgeStats } from "./bridge-stats.js";
import { appendDeadLetters, outgoingEventOf, readDeadLetters, type DeadLetterEntry } from "./dead-letter.js";
import { createDeliver, realSleep, type Sleep } from "./delivery.js";
import { appendDurably, isNotFound, syncFolder } from "./durable-file.js";

/** How to replay a dead-letter file. */
export interface ReplayOptions {
  readonly deadLetterFile: string;
  readonly endpoint: string;
  readonly secret: string;
  /** Time allowed for one attempt (default 10 s). */
  readonly timeoutMs?: number;
  /** Attempts per entry, whatever the failure (default 5); an entry still failing stays in the file. */
  readonly maxAttempts?: number;
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
  readonly sleep?: Sleep;
  readonly now?: () => number;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
}

/** What a replay did. */
export interface ReplayResult {
  /** Entries the receiver accepted, now removed from the file. */
  readonly delivered: number;
  /** Entries still refused or unreachable, kept in the file. */
  readonly kept: number;
  /** Lines that are not entries, kept in the file as they were. */
  readonly invalidLines: number;
  /** Repeated entries of one event id, sent once. */
  readonly duplicates: number;
  readonly stats: BridgeStats;
}

/**
 * Sends the dead-letter entries again, removing those the receiver accepts and
 * keeping the others. The file is first renamed aside, so a bridge running at the
 * same time keeps appending to a fresh file; what is kept is appended back to it.
 * Work files left by a replay that crashed are picked up too. Run one replay at a time.
 */
export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayResult> {
  const logger = options.logger ?? createSilentLogger();
  const now = options.now ?? Date.now;
  const stats = createBridgeStats(now);
  const signal = options.signal ?? new AbortController().signal;
  const maxAttempts = options.maxAttempts ?? 5;
  const deliver = createDeliver({
    endpoint: options.endpoint,
    secret: options.secret,
    timeoutMs: options.timeoutMs ?? 10_000,
    maxAttempts,
    maxRetryableAttempts: maxAttempts,
    backoff: options.backoff ?? DEFAULT_BACKOFF,
    random: options.random ?? Math.random,
    sleep: options.sleep ?? realSleep,
    now,
    logger,
    stats,
  });

  const file = options.deadLetterFile;
  try {
    await rename(file, `${file}.replaying.${now()}-${process.pid}`);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  await syncFolder(dirname(file));
  const prefix = `${basename(file)}.replaying.`;
  const workFiles = (await readdir(dirname(file)).catch((error: unknown) => (isNotFound(error) ? [] : Promise.reject(error))))
    .filter((name) => name.startsWith(prefix))
    .sort()
    .map((name) => join(dirname(file), name));

  let delivered = 0;
  let kept = 0;
  let invalidLines = 0;
  let duplicates = 0;
  const seen = new Set<string>();
  for (const work of workFiles) {
    const content = await readDeadLetters(work);
    const keep: DeadLetterEntry[] = [];
    for (const entry of content.entries) {
      if (seen.has(entry.id)) {
        duplicates++;
        continue;
      }
      seen.add(entry.id);
      const outcome = signal.aborted ? ({ kind: "aborted", attempts: 0 } as const) : await deliver(outgoingEventOf(entry), signal);
      if (outcome.kind === "delivered") {
        delivered++;
        stats.delivered(entry.type.includes(".spend.") ? "spend" : "alert", now());
        logger.info({ eventId: entry.id, type: entry.type, attempts: outcome.attempts }, "dead-letter entry delivered");
        continue;
      }
      const reason = outcome.kind === "given-up" ? outcome.reason : "replay stopped";
      keep.push({ ...entry, replays: (entry.replays ?? 0) + 1, lastReplayAt: new Date(now()).toISOString(), lastReplayReason: reason });
      kept++;
      logger.warn({ eventId: entry.id, type: entry.type, reason }, "dead-letter entry not delivered; kept");
    }
    // Back into the live file before the work file goes: a crash in between repeats entries, never drops them.
    await appendDeadLetters(file, keep);
    if (content.invalidLines.length > 0) await appendDurably(file, content.invalidLines.map((line) => `${line}\n`).join(""));
    invalidLines += content.invalidLines.length;
    await unlink(work);
  }
  await syncFolder(dirname(file));
  return { delivered, kept, invalidLines, duplicates, stats };
}
