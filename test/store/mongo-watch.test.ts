import type { Db } from "mongodb";
import { describe, expect, it } from "vitest";
import { watchAlertEventInserts } from "../../src/store/mongo/alert-event-watch.js";

/** What one opening of the fake change stream does: yield these changes, then fail with `error` or wait to be closed. */
interface Script {
  readonly changes: readonly { readonly _id: string }[];
  readonly error?: unknown;
}

/** A Db whose collection().watch() plays scripts in order, recording how each stream was opened. */
function fakeDb(scripts: readonly Script[]) {
  const opened: { collection: string; pipeline: unknown; options: unknown }[] = [];
  let closedStreams = 0;
  let waiting: (() => void) | undefined;
  const db = {
    collection(name: string) {
      return {
        watch(pipeline: unknown, options: unknown) {
          const script = scripts[opened.length] ?? { changes: [] };
          opened.push({ collection: name, pipeline, options });
          let closed = false;
          return {
            async *[Symbol.asyncIterator]() {
              for (const change of script.changes) {
                await Promise.resolve();
                yield change;
              }
              if (script.error !== undefined) throw script.error;
              // An open stream with nothing new: wait until closed.
              while (!closed) await new Promise<void>((resolve) => (waiting = resolve));
            },
            async close() {
              if (!closed) closedStreams++;
              closed = true;
              waiting?.();
            },
          };
        },
      };
    },
  };
  return { db: db as unknown as Db, opened, closedStreams: () => closedStreams };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  expect(condition()).toBe(true);
}

describe("watchAlertEventInserts()", () => {
  it("calls onInsert per inserted event, on alert_events inserts only", async () => {
    const { db, opened } = fakeDb([{ changes: [{ _id: "t1" }, { _id: "t2" }] }]);
    let inserts = 0;
    const watch = watchAlertEventInserts(db, () => inserts++);
    await until(() => inserts === 2);
    await watch.close();
    expect(opened).toEqual([{ collection: "alert_events", pipeline: [{ $match: { operationType: "insert" } }], options: {} }]);
  });

  it("reopens after an error with backoff, resuming after the last change, and wakes the feed to catch up", async () => {
    const network = Object.assign(new Error("connection closed"), { name: "MongoNetworkError" });
    const { db, opened } = fakeDb([
      { changes: [{ _id: "t1" }, { _id: "t2" }], error: network },
      { changes: [{ _id: "t3" }] },
    ]);
    let inserts = 0;
    const errors: unknown[] = [];
    const watch = watchAlertEventInserts(db, () => inserts++, { initialBackoffMs: 1, onError: (e) => errors.push(e) });
    // 2 changes, 1 catch-up wake on reopening, 1 change.
    await until(() => inserts === 4);
    await watch.close();
    expect(errors).toEqual([network]);
    expect(opened.map((o) => o.options)).toEqual([{}, { startAfter: "t2" }]);
  });

  it("starts afresh when the server can no longer resume from the token (ChangeStreamHistoryLost)", async () => {
    const lost = Object.assign(new Error("Resume of change stream was not possible"), { name: "MongoServerError", code: 286 });
    const { db, opened } = fakeDb([{ changes: [{ _id: "t1" }], error: lost }, { changes: [] }]);
    let inserts = 0;
    const watch = watchAlertEventInserts(db, () => inserts++, { initialBackoffMs: 1 });
    await until(() => opened.length === 2 && inserts === 2);
    await watch.close();
    expect(opened.map((o) => o.options)).toEqual([{}, {}]);
  });

  it("backs off longer after each failure in a row, up to the maximum", async () => {
    const failing = { changes: [], error: Object.assign(new Error("no primary"), { name: "MongoServerSelectionError" }) };
    const { db, opened } = fakeDb(Array.from({ length: 50 }, () => failing));
    const started = Date.now();
    const watch = watchAlertEventInserts(db, () => {}, { initialBackoffMs: 20, maxBackoffMs: 40 });
    await until(() => opened.length >= 4);
    // Waits of 20, 40, 40 ms between the four openings.
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    await watch.close();
  });

  it("close() stops a waiting stream and a pending backoff, and resolves", async () => {
    const { db, closedStreams } = fakeDb([{ changes: [] }]);
    const watch = watchAlertEventInserts(db, () => {});
    await new Promise((resolve) => setTimeout(resolve, 5));
    await watch.close();
    expect(closedStreams()).toBe(1);

    const failing = fakeDb([{ changes: [], error: new Error("down") }]);
    const backingOff = watchAlertEventInserts(failing.db, () => {}, { initialBackoffMs: 60_000 });
    await until(() => failing.opened.length === 1);
    const started = Date.now();
    await backingOff.close();
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
