// The body of the SQLite writer thread (see writer-thread.ts): its own connection,
// the same record writer the store uses in-thread, one batch at a time.
import { parentPort, workerData } from "node:worker_threads";
import type { StoredCostRecord } from "../../domain/cost-record.js";
import { StoreUnavailableError } from "../../core/errors.js";
import { openDatabase, type SqliteStoreOptions } from "./open-database.js";
import { createRecordWriter } from "./record-writer.js";
import { storeErrorFrom } from "./store-error.js";
import type { WriterError, WriterReply, WriterRequest } from "./writer-protocol.js";

const port = parentPort;
if (!port) throw new Error("writer-worker runs only as a worker thread");
const reply = (message: WriterReply): void => port.postMessage(message);

function describe(raw: unknown): WriterError {
  const error = storeErrorFrom(raw);
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { unavailable: error instanceof StoreUnavailableError, name: error.name, message: error.message, code: typeof code === "string" ? code : undefined };
  }
  return { unavailable: false, name: "Error", message: String(error) };
}

try {
  const options = workerData as SqliteStoreOptions;
  // The opening thread has migrated the schema already.
  const db = openDatabase(options, { migrateSchema: false });
  const write = createRecordWriter(db, options.keyIndex);
  port.on("message", (request: WriterRequest) => {
    if (request.op === "close") {
      db.close();
      reply({ op: "closed" });
      return;
    }
    try {
      const existing: [number, StoredCostRecord][] = [];
      write(request.records, request.receivedAtMs, request.hashes, request.deltasIfAllNew).forEach((result, i) => {
        if (result.kind === "existing") existing.push([i, result.stored]);
      });
      reply({ op: "written", id: request.id, existing });
    } catch (error) {
      reply({ op: "failed", id: request.id, error: describe(error) });
    }
  });
} catch (error) {
  reply({ op: "open-failed", error: describe(error) });
}
