/** What take() gives: an item, or the end value the producer closed the queue with. */
export type Taken<T, E> = { readonly done: false; readonly item: T } | { readonly done: true; readonly end: E };

/** A FIFO between one producer and one consumer, with a capacity the producer waits on. */
export interface BoundedQueue<T, E> {
  /** Adds an item; resolves once there is room for the next one (at once after close). */
  put(item: T): Promise<void>;
  /** Ends the queue after the items already in it; later puts are dropped. */
  close(end: E): void;
  /** The next item, or the end once the queue is closed and empty. */
  take(): Promise<Taken<T, E>>;
  /** Items waiting. */
  readonly size: number;
}

/** Creates a queue that holds at most `capacity` items before put() waits. */
export function createBoundedQueue<T, E>(capacity: number): BoundedQueue<T, E> {
  const items: T[] = [];
  let ended: { end: E } | undefined;
  let wakeTaker: (() => void) | undefined;
  let wakePutter: (() => void) | undefined;
  const wake = (which: "taker" | "putter"): void => {
    const fn = which === "taker" ? wakeTaker : wakePutter;
    if (which === "taker") wakeTaker = undefined;
    else wakePutter = undefined;
    fn?.();
  };
  return {
    async put(item) {
      if (ended) return;
      items.push(item);
      wake("taker");
      while (items.length >= capacity && !ended) await new Promise<void>((resolve) => (wakePutter = resolve));
    },
    close(end) {
      if (ended) return;
      ended = { end };
      wake("taker");
      wake("putter");
    },
    async take() {
      for (;;) {
        const item = items.shift();
        if (item !== undefined) {
          wake("putter");
          return { done: false, item };
        }
        if (ended) return { done: true, end: ended.end };
        await new Promise<void>((resolve) => (wakeTaker = resolve));
      }
    },
    get size() {
      return items.length;
    },
  };
}
