import { describe, expect, it } from "vitest";
import { OverloadedError } from "../../src/core/errors.js";
import { createGroupCommitter } from "../../src/core/group-commit.js";

/** A write whose completion the test controls; records what each call was given. */
function controlledWrite() {
  const calls: { items: readonly number[]; finish: () => void; fail: (error: Error) => void }[] = [];
  const write = (items: readonly number[]): Promise<readonly string[]> =>
    new Promise((resolve, reject) => {
      calls.push({ items, finish: () => resolve(items.map((i) => `done-${i}`)), fail: reject });
    });
  return { calls, write };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("createGroupCommitter()", () => {
  it("writes submissions made in the same turn in one write, each getting its own results", async () => {
    const { calls, write } = controlledWrite();
    const committer = createGroupCommitter(write);
    const a = committer.submit([1, 2]);
    const b = committer.submit([3]);
    await turn();
    expect(calls.map((c) => c.items)).toEqual([[1, 2, 3]]);
    calls[0]?.finish();
    expect(await a).toEqual(["done-1", "done-2"]);
    expect(await b).toEqual(["done-3"]);
  });

  it("holds later submissions until the write in flight finishes, then writes them together", async () => {
    const { calls, write } = controlledWrite();
    const committer = createGroupCommitter(write);
    void committer.submit([1]);
    await turn();
    const later = [committer.submit([2]), committer.submit([3])];
    await turn();
    expect(calls).toHaveLength(1);
    calls[0]?.finish();
    await turn();
    await turn();
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3]]);
    calls[1]?.finish();
    expect(await Promise.all(later)).toEqual([["done-2"], ["done-3"]]);
  });

  it("hands the next batch over while one is in flight when two writes may be, and resolves each with its own", async () => {
    const { calls, write } = controlledWrite();
    const committer = createGroupCommitter(write, { maxWritesInFlight: 2 });
    const first = committer.submit([1]);
    await turn();
    const second = committer.submit([2]);
    await turn();
    const third = committer.submit([3]);
    await turn();
    // Two writes in flight; the third waits for a free slot.
    expect(calls.map((c) => c.items)).toEqual([[1], [2]]);
    expect(committer.pendingItems).toBe(3);
    calls[0]?.finish();
    expect(await first).toEqual(["done-1"]);
    await turn();
    expect(calls.map((c) => c.items)).toEqual([[1], [2], [3]]);
    calls[2]?.finish();
    calls[1]?.finish();
    expect(await second).toEqual(["done-2"]);
    expect(await third).toEqual(["done-3"]);
    await committer.drain();
    expect(committer.pendingItems).toBe(0);
  });

  it("splits what is queued at maxBatchItems, never splitting one submission", async () => {
    const { calls, write } = controlledWrite();
    const committer = createGroupCommitter(write, { maxBatchItems: 3 });
    const submissions = [committer.submit([1, 2]), committer.submit([3, 4]), committer.submit([5])];
    await turn();
    calls[0]?.finish();
    await turn();
    await turn();
    calls[1]?.finish();
    await Promise.all(submissions);
    expect(calls.map((c) => c.items)).toEqual([[1, 2], [3, 4, 5]]);
  });

  it("says it is crowded once half of maxPendingItems wait, and not after they are written", async () => {
    const { calls, write } = controlledWrite();
    const committer = createGroupCommitter(write, { maxPendingItems: 10 });
    void committer.submit([1]);
    await turn();
    const waiting = committer.submit([2, 3, 4, 5]);
    expect(committer.crowded).toBe(false);
    const more = committer.submit([6]);
    expect(committer.crowded).toBe(true);
    calls[0]?.finish();
    await turn();
    await turn();
    expect(committer.crowded).toBe(false);
    calls[1]?.finish();
    await Promise.all([waiting, more]);
  });

  it("refuses a submission that would queue more than maxPendingItems", async () => {
    const { calls, write } = controlledWrite();
    const committer = createGroupCommitter(write, { maxPendingItems: 4 });
    void committer.submit([1]);
    await turn();
    const queued = committer.submit([2, 3, 4]);
    await expect(committer.submit([5, 6])).rejects.toBeInstanceOf(OverloadedError);
    calls[0]?.finish();
    await turn();
    await turn();
    calls[1]?.finish();
    expect(await queued).toEqual(["done-2", "done-3", "done-4"]);
  });

  it("fails every submission of a write that fails, and goes on with the next", async () => {
    const { calls, write } = controlledWrite();
    const committer = createGroupCommitter(write);
    const failing = [committer.submit([1]), committer.submit([2])];
    await turn();
    const after = committer.submit([3]);
    calls[0]?.fail(new Error("disk full"));
    await expect(failing[0]).rejects.toThrow("disk full");
    await expect(failing[1]).rejects.toThrow("disk full");
    await turn();
    calls[1]?.finish();
    expect(await after).toEqual(["done-3"]);
  });
});
