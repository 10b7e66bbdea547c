import { describe, expect, it } from "vitest";
import { withStreamEnd, type StreamEnd } from "../../src/api/stream-end.js";

/** An async generator of `values` that notes whether its `finally` ran, optionally failing after them. */
function source(values: readonly number[], failWith?: Error): { readonly stream: AsyncGenerator<number>; readonly closed: () => boolean } {
  let closed = false;
  const stream = (async function* () {
    try {
      yield* values;
      if (failWith) throw failWith;
    } finally {
      closed = true;
    }
  })();
  return { stream, closed: () => closed };
}

describe("withStreamEnd()", () => {
  it("passes every message through in order and reports completion once", async () => {
    const ends: StreamEnd[] = [];
    const read: number[] = [];
    for await (const value of withStreamEnd(source([1, 2, 3]).stream, { onEnd: (end) => ends.push(end) })) read.push(value);
    expect(read).toEqual([1, 2, 3]);
    expect(ends).toEqual([{ kind: "completed" }]);
  });

  it("reports a consumer that stops early as returned, and closes the source", async () => {
    const ends: StreamEnd[] = [];
    const { stream, closed } = source([1, 2, 3]);
    for await (const value of withStreamEnd(stream, { onEnd: (end) => ends.push(end) })) if (value === 2) break;
    expect(ends).toEqual([{ kind: "returned" }]);
    expect(closed()).toBe(true);
  });

  it("reports a failure with the mapped error and throws that error on", async () => {
    const ends: StreamEnd[] = [];
    const mapped = new Error("mapped");
    const read: number[] = [];
    const reading = (async () => {
      for await (const value of withStreamEnd(source([1], new Error("raw")).stream, { onEnd: (end) => ends.push(end), mapError: () => mapped })) read.push(value);
    })();
    await expect(reading).rejects.toBe(mapped);
    expect(read).toEqual([1]);
    expect(ends).toEqual([{ kind: "failed", error: mapped }]);
  });

  it("hands an error thrown in by the consumer to the source, and reports it", async () => {
    const ends: StreamEnd[] = [];
    const { stream, closed } = source([1, 2]);
    const it = withStreamEnd(stream, { onEnd: (end) => ends.push(end) })[Symbol.asyncIterator]();
    await it.next();
    const cut = new Error("write failed");
    await expect(it.throw?.(cut)).rejects.toBe(cut);
    expect(closed()).toBe(true);
    expect(ends).toEqual([{ kind: "failed", error: cut }]);
  });
});
