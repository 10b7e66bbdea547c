import type { StoredCostRecord } from "../../domain/cost-record.js";
import { NANOS_PER_UNIT } from "../../domain/money.js";

/** A row of the records table, read with 64-bit integers as bigint. */
export interface RecordRow {
  seq: bigint;
  id: string;
  cluster_id: string;
  provider: string;
  operation: string;
  model: string;
  currency: string;
  units: bigint;
  nanos: bigint;
  ts_ms: bigint;
  trace_id: string;
  metadata: string;
  received_ms: bigint;
}

/** The domain record a row holds. */
export function recordFromRow(row: RecordRow): StoredCostRecord {
  return {
    id: row.id,
    clusterId: row.cluster_id,
    provider: row.provider,
    operation: row.operation,
    model: row.model,
    cost: { currency: row.currency, nanos: row.units * NANOS_PER_UNIT + row.nanos },
    timestampMs: Number(row.ts_ms),
    traceId: row.trace_id,
    metadataJson: row.metadata,
    receivedAtMs: Number(row.received_ms),
  };
}
