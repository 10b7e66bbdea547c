import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { CostRecord } from "../../../gen/dreamnet/cost/v1/cost_record_pb.js";
import type { CostClient } from "../../../src/client/index.js";
import { costRecord, money } from "../../support/records.js";

/** Amounts with nanos, so sums that drift through a float would show. */
export const AMOUNTS: readonly { readonly units: bigint; readonly nanos: number }[] = [
  { units: 0n, nanos: 2_000_000 },
  { units: 0n, nanos: 123_456_789 },
  { units: 1n, nanos: 500_000_000 },
  { units: 0n, nanos: 999_999_999 },
  { units: 12n, nanos: 1 },
];

/** Records described compactly (an id and an amount index each), built into messages only when sent. */
export interface RecordPlan {
  readonly ids: readonly string[];
  readonly amountIndex: Uint8Array;
  readonly clusterId: string;
  /** Record i is stamped `baseMs - (i % 3600) * 1000`. */
  readonly baseMs: number;
}

/** A plan of `count` records with random UUID ids and amounts picked by `random`. */
export function planRecords(count: number, clusterId: string, random: () => number): RecordPlan {
  const ids = Array.from({ length: count }, () => randomUUID());
  const amountIndex = Uint8Array.from({ length: count }, () => Math.floor(random() * AMOUNTS.length));
  // A minute back, so no record is ahead of the server clock.
  return { ids, amountIndex, clusterId, baseMs: Date.now() - 60_000 };
}

/** The exact sum of a plan's amounts, in nano-units. */
export function planTotalNanos(plan: RecordPlan): bigint {
  let total = 0n;
  for (const i of plan.amountIndex) {
    const a = AMOUNTS[i]!;
    total += a.units * 1_000_000_000n + BigInt(a.nanos);
  }
  return total;
}

/** The wire records of positions [from, to) of a plan. */
export function planSlice(plan: RecordPlan, from: number, to: number): CostRecord[] {
  const out: CostRecord[] = [];
  for (let i = from; i < to; i++) {
    const a = AMOUNTS[plan.amountIndex[i]!]!;
    out.push(
      costRecord({
        id: plan.ids[i]!,
        clusterId: plan.clusterId,
        provider: i % 2 === 0 ? "openai" : "anthropic",
        model: i % 3 === 0 ? "gpt-4" : "claude",
        cost: money(a.units, a.nanos),
        atMs: plan.baseMs - (i % 3600) * 1000,
      }),
    );
  }
  return out;
}

/** Every record id the server exports (all clusters), in export order. */
export async function exportedIds(client: CostClient, clusterId = ""): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of client.exportCosts({ clusterId, pageSize: 5_000 })) for (const r of page.records) ids.push(r.id);
  return ids;
}

/** The gRPC code of a failure, by name. */
export function codeName(error: unknown): string {
  return Code[ConnectError.from(error).code] ?? String(ConnectError.from(error).code);
}

/** Counts of each distinct value. */
export function tally(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
