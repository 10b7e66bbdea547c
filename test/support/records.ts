import { randomUUID } from "node:crypto";
import { create, type JsonObject, type MessageInitShape } from "@bufbuild/protobuf";
import { CostRecordSchema, type CostRecord } from "../../gen/dreamnet/cost/v1/cost_record_pb.js";
import { MoneySchema, type Money } from "../../gen/dreamnet/cost/v1/money_pb.js";
import { timestampFromMs } from "../../src/api/time-mapping.js";

/** A fixed instant tests start their clocks at: 2026-06-15T12:00:00Z. */
export const NOW = Date.UTC(2026, 5, 15, 12, 0);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** An amount in exact parts, e.g. usd(0, 2_000_000) is 0.002 USD. */
export function money(units: bigint | number, nanos: number, currencyCode = "USD"): Money {
  return create(MoneySchema, { currencyCode, units: BigInt(units), nanos });
}

/** Shorthand for a USD amount. */
export function usd(units: bigint | number, nanos = 0): Money {
  return money(units, nanos, "USD");
}

/** The parts of an amount, for exact comparison (undefined reads as no amount). */
export function parts(value: Money | undefined): { currencyCode: string; units: bigint; nanos: number } | undefined {
  return value === undefined ? undefined : { currencyCode: value.currencyCode, units: value.units, nanos: value.nanos };
}

/** The parts of an integer number of nano-units, the way the server splits them (sign on both). */
export function partsOfNanos(totalNanos: bigint, currencyCode = "USD"): { currencyCode: string; units: bigint; nanos: number } {
  const units = totalNanos / 1_000_000_000n;
  return { currencyCode, units, nanos: Number(totalNanos - units * 1_000_000_000n) };
}

/** Integer nano-units of a wire amount. */
export function nanosOf(value: Money | undefined): bigint {
  return value === undefined ? 0n : value.units * 1_000_000_000n + BigInt(value.nanos);
}

/** What a test says about a record; everything has a sensible default. */
export interface RecordSpec {
  readonly id?: string;
  readonly clusterId?: string;
  readonly provider?: string;
  readonly operation?: string;
  readonly model?: string;
  readonly cost?: Money;
  /** Epoch ms of the record's timestamp (default NOW). */
  readonly atMs?: number;
  readonly traceId?: string;
  readonly metadata?: JsonObject;
}

/** A valid wire record: 0.002 USD of an openai chat completion at NOW, with a random id, unless told otherwise. */
export function costRecord(spec: RecordSpec = {}): CostRecord {
  const init: MessageInitShape<typeof CostRecordSchema> = {
    id: spec.id ?? randomUUID(),
    clusterId: spec.clusterId ?? "API_KEEPER",
    provider: spec.provider ?? "openai",
    operation: spec.operation ?? "chat-completion",
    model: spec.model ?? "gpt-4",
    cost: spec.cost ?? usd(0, 2_000_000),
    timestamp: timestampFromMs(spec.atMs ?? NOW),
    traceId: spec.traceId ?? "",
  };
  if (spec.metadata !== undefined) init.metadata = spec.metadata;
  return create(CostRecordSchema, init);
}

/** A copy of a wire record with some fields changed (a fresh message, the original untouched). */
export function withChanges(record: CostRecord, changes: Partial<Pick<CostRecord, "id" | "clusterId" | "provider" | "operation" | "model" | "cost" | "timestamp" | "traceId" | "metadata">>): CostRecord {
  return create(CostRecordSchema, { ...record, ...changes });
}

/** Splits a list into chunks of `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A small seeded PRNG (mulberry32) so generated data is the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `work` over `items` with at most `concurrency` in flight; results in input order. */
export async function mapConcurrent<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** An async iterable of RecordCosts request messages, one per batch. */
export async function* recordBatches(batches: readonly (readonly CostRecord[])[]): AsyncGenerator<{ records: CostRecord[] }> {
  for (const batch of batches) yield { records: [...batch] };
}
