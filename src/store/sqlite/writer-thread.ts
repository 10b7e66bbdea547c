import { Worker } from "node:worker_threads";
import type { InsertResult } from "../../core/cost-store.js";
import { StoreUnavailableError } from "../../core/errors.js";
import type { CostRecord } from "../../domain/cost-record.js";
import { rollupDeltas } from "../../domain/rollup.js";
import { idHashes } from "./id-hash.js";
import type { SqliteStoreOptions } from "./open-database.js";
import { INSERTED } from "./record-writer.js";
import type { WriterError, WriterReply, WriterRequest } from "./writer-protocol.js";

const WRITER_YOUNG_GENERATION_MB = 24;
// Compiled (dist/, `npm run build`), the thread runs its JavaScript directly; from the
// TypeScript sources (tests, tsx), a CommonJS entry registers tsx in the thread first.
const WORKER_ENTRY = new URL(import.meta.url.endsWith(".js") ? "./writer-worker.js" : "./writer-worker.cjs", import.meta.url);

/** Record batches written by a worker thread; see startWriterThread. */
export interface WriterThread {
  insert(records: readonly CostRecord[], receivedAtMs: number): Promise<InsertResult[]>;
  /** Lets queued batches finish, then closes the thread's connection. */
  close(): Promise<void>;
}

interface Waiting {
  readonly size: number;
  readonly resolve: (results: InsertResult[]) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Starts a worker thread with its own connection to the store's file that writes
 * record batches (id lookup, rows, roll-ups: record-writer.ts). SQLite commits are
 * synchronous; in a thread of their own they no longer stop the event loop, which
 * meanwhile decodes and validates the next requests. Batches are written in the
 * order they are sent. Other writes (alerts, budgets, audit) stay on the main
 * connection; SQLite's file lock orders the two writers.
 *
 * If the thread fails to open the database or dies, the batches it held fail with
 * StoreUnavailableError (retryable: ids make a retry safe) and the next batch
 * starts a new thread, which reads what it needs back from the file.
 */
export function startWriterThread(options: SqliteStoreOptions): WriterThread {
  const waiting = new Map<number, Waiting>();
  let nextId = 1;
  let worker: Worker | undefined;
  let closing: Promise<void> | undefined;

  const failWaiting = (error: Error): void => {
    for (const entry of waiting.values()) entry.reject(error);
    waiting.clear();
  };

  const start = (): Worker => {
    const started = new Worker(WORKER_ENTRY, {
      workerData: { ...options, writerThread: false },
      // Not the parent's flags as they are: its module loaders (tsx's ESM hooks) would start
      // one more thread, and process-wide ones (heap sizes) make the Worker constructor throw.
      execArgv: workerFlags(process.execArgv),
      // The thread holds one batch at a time: a smaller young generation than the main
      // thread's default (more than 32 MiB) keeps its heap small. Measured over 5M streamed
      // records: peak RSS 262-267 MiB against 285-297 by default, at the same rate within noise.
      resourceLimits: { maxYoungGenerationSizeMb: WRITER_YOUNG_GENERATION_MB },
    });
    // The thread keeps the process alive only while it has work.
    started.unref();
    const retire = (error: Error): void => {
      if (worker !== started) return;
      worker = undefined;
      failWaiting(error);
      void started.terminate();
    };
    started.on("message", (message: WriterReply) => {
      switch (message.op) {
        case "closed":
          return;
        case "open-failed":
          return retire(errorFrom(message.error));
        case "written":
        case "failed": {
          const entry = waiting.get(message.id);
          if (!entry) return;
          waiting.delete(message.id);
          if (waiting.size === 0) started.unref();
          if (message.op === "failed") return entry.reject(errorFrom(message.error));
          const results = new Array<InsertResult>(entry.size).fill(INSERTED);
          for (const [index, stored] of message.existing) results[index] = { kind: "existing", stored };
          entry.resolve(results);
        }
      }
    });
    started.on("error", (error) => retire(new StoreUnavailableError(`sqlite writer thread failed: ${error.message}`, { cause: error })));
    started.on("exit", () => retire(new StoreUnavailableError("sqlite writer thread stopped")));
    return started;
  };

  const send = (to: Worker, request: WriterRequest): void => to.postMessage(request);

  return {
    insert(records, receivedAtMs) {
      if (closing) return Promise.reject(new StoreUnavailableError("sqlite store is closed"));
      const to = (worker ??= start());
      const id = nextId++;
      return new Promise((resolve, reject) => {
        if (waiting.size === 0) to.ref();
        waiting.set(id, { size: records.length, resolve, reject });
        send(to, { op: "insert", id, records, hashes: idHashes(records), deltasIfAllNew: rollupDeltas(records), receivedAtMs });
      });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        const closingWorker = worker;
        if (!closingWorker) return resolve();
        closingWorker.ref();
        // Queued batches come first: the thread answers "closed" after them.
        closingWorker.on("message", (message: WriterReply) => {
          if (message.op === "closed") void closingWorker.terminate().then(() => resolve());
        });
        closingWorker.once("exit", () => resolve());
        send(closingWorker, { op: "close" });
      });
      return closing;
    },
  };
}

// Flags that are per thread and worth passing on: profiling and source maps.
const THREAD_FLAGS = ["--cpu-prof", "--heap-prof", "--enable-source-maps"];

/** Of the parent's Node flags, the ones the writer thread takes too (given as "--flag" or "--flag=value"). */
export function workerFlags(flags: readonly string[]): string[] {
  return flags.filter((flag) => THREAD_FLAGS.some((kept) => flag === kept || flag.startsWith(`${kept}-`) || flag.startsWith(`${kept}=`)));
}

function errorFrom(error: WriterError): Error {
  if (error.unavailable) return new StoreUnavailableError(error.message);
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  if (error.code !== undefined) Object.assign(rebuilt, { code: error.code });
  return rebuilt;
}
