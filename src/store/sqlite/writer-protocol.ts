import type { CostRecord, StoredCostRecord } from "../../domain/cost-record.js";
import type { RollupDeltas } from "../../domain/rollup.js";

/** What the store asks of its writer thread. */
export type WriterRequest =
  /**
   * `hashes` (idHash of each id) and `deltasIfAllNew` (the roll-up deltas of the whole batch) are
   * computed on the sending thread, which has time to spare; see RecordWriter.
   */
  | {
      readonly op: "insert";
      readonly id: number;
      readonly records: readonly CostRecord[];
      readonly hashes: Float64Array;
      readonly deltasIfAllNew: RollupDeltas;
      readonly receivedAtMs: number;
    }
  | { readonly op: "close" };

/** An error as it crosses the thread boundary (class identity does not survive a structured clone). */
export interface WriterError {
  /** A StoreUnavailableError: the caller may retry. */
  readonly unavailable: boolean;
  readonly name: string;
  readonly message: string;
  readonly code?: string | undefined;
}

/** What the writer thread answers. */
export type WriterReply =
  | { readonly op: "open-failed"; readonly error: WriterError }
  /** Only records that were stored already travel back, with their positions; the rest were inserted. */
  | { readonly op: "written"; readonly id: number; readonly existing: readonly (readonly [number, StoredCostRecord])[] }
  | { readonly op: "failed"; readonly id: number; readonly error: WriterError }
  | { readonly op: "closed" };
