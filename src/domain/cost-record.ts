import type { Money } from "./money.js";

/** One priced operation as the domain keeps it. Strings are validated before they get here. */
export interface CostRecord {
  /** The client's idempotency key. */
  readonly id: string;
  readonly clusterId: string;
  readonly provider: string;
  readonly operation: string;
  /** "" when the record names no model. */
  readonly model: string;
  readonly cost: Money;
  /** When the cost was incurred, epoch milliseconds. */
  readonly timestampMs: number;
  /** "" when absent. */
  readonly traceId: string;
  /** Metadata as canonical JSON (keys sorted), "" when absent; canonical so equal content compares equal. */
  readonly metadataJson: string;
}

/** A record as stored, with the server's commit time. */
export interface StoredCostRecord extends CostRecord {
  readonly receivedAtMs: number;
}

/** Whether two records with the same id carry the same content, i.e. one is a retry of the other. */
export function sameRecordContent(a: CostRecord, b: CostRecord): boolean {
  return (
    a.id === b.id &&
    a.clusterId === b.clusterId &&
    a.provider === b.provider &&
    a.operation === b.operation &&
    a.model === b.model &&
    a.cost.currency === b.cost.currency &&
    a.cost.nanos === b.cost.nanos &&
    a.timestampMs === b.timestampMs &&
    a.traceId === b.traceId &&
    a.metadataJson === b.metadataJson
  );
}
