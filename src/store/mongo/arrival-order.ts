/** Arrival keys per millisecond: 2^10, so keys stay exact JS numbers (below 2^53) until the year 2248. */
const ARRIVALS_PER_MS = 1_024;

/** Hands out arrival keys for records, increasing on every call. */
export interface ArrivalSequence {
  /** The first of `count` consecutive keys for a batch committed at `receivedAtMs`. */
  take(receivedAtMs: number, count: number): number;
}

/**
 * Arrival order without a shared counter: a key is the commit instant in ms times
 * 1,024 plus a position, and never less than one more than the previous key this
 * process handed out. Within an instance (whose group committer writes one batch
 * at a time) the keys follow commit order exactly, also within a batch; across
 * instances they follow the commit clock, ties broken by record id. A shared
 * counter would give exact order across instances too, but every ingest
 * transaction would then write one document and conflict with all the others.
 */
export function createArrivalSequence(): ArrivalSequence {
  let next = 0;
  return {
    take(receivedAtMs, count) {
      const first = Math.max(next, receivedAtMs * ARRIVALS_PER_MS);
      next = first + count;
      return first;
    },
  };
}
