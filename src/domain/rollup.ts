import type { BucketLevel } from "./bucket-plan.js";
import { BUCKET_MS } from "./bucket-plan.js";
import type { CostRecord } from "./cost-record.js";
import { NANOS_PER_UNIT } from "./money.js";
import { floorTo } from "./time.js";

/** Levels kept per cluster and currency: enough to answer any window from few buckets. */
export const CLUSTER_LEVELS: readonly BucketLevel[] = ["minute", "hour", "day"];
/** Levels kept per cluster, currency, provider, operation and model, for breakdowns and series. */
export const DETAIL_LEVELS: readonly BucketLevel[] = ["hour", "day"];

/**
 * An amount added to a roll-up, split into whole units and the nanos left over, so
 * a 64-bit column never overflows in practice: the nanos column grows by less
 * than 10^9 per batch and bucket, the units column by whole currency units.
 */
export interface RollupAmount {
  readonly units: bigint;
  readonly nanos: bigint;
  readonly count: number;
}

/** An increment of one cluster-level bucket. */
export interface ClusterBucketDelta extends RollupAmount {
  readonly level: BucketLevel;
  readonly clusterId: string;
  readonly currency: string;
  readonly bucketStartMs: number;
}

/** An increment of one detail bucket. */
export interface DetailBucketDelta extends RollupAmount {
  readonly level: BucketLevel;
  readonly clusterId: string;
  readonly currency: string;
  readonly provider: string;
  readonly operation: string;
  readonly model: string;
  readonly bucketStartMs: number;
}

/** An increment of a cluster's all-time total in one currency. */
export interface ClusterTotalDelta extends RollupAmount {
  readonly clusterId: string;
  readonly currency: string;
}

/** Every roll-up change that a batch of new records makes; each key appears once. */
export interface RollupDeltas {
  readonly cluster: readonly ClusterBucketDelta[];
  readonly detail: readonly DetailBucketDelta[];
  readonly totals: readonly ClusterTotalDelta[];
}

interface Acc {
  units: bigint;
  nanos: bigint;
  count: number;
}

/**
 * Folds new records into one increment per roll-up key, so a store applies one
 * update per bucket per batch however many records share it. Records are first
 * grouped by their finest key (detail and minute), one map lookup each; the
 * coarser buckets are then built from the few groups.
 */
export function rollupDeltas(records: readonly CostRecord[]): RollupDeltas {
  // One bigint addition per record; the units/nanos split is done once per group.
  const fine = new Map<string, { total: bigint; count: number; readonly record: CostRecord; readonly minuteStartMs: number }>();
  const minuteMs = BUCKET_MS.minute;
  for (const record of records) {
    const minuteStartMs = floorTo(record.timestampMs, minuteMs);
    const key = `${record.clusterId}\u0000${record.cost.currency}\u0000${record.provider}\u0000${record.operation}\u0000${record.model}\u0000${minuteStartMs}`;
    const group = fine.get(key);
    if (group) {
      group.total += record.cost.nanos;
      group.count += 1;
    } else {
      fine.set(key, { record, minuteStartMs, total: record.cost.nanos, count: 1 });
    }
  }

  const cluster = new Map<string, Acc & Omit<ClusterBucketDelta, keyof RollupAmount>>();
  const detail = new Map<string, Acc & Omit<DetailBucketDelta, keyof RollupAmount>>();
  const totals = new Map<string, Acc & Omit<ClusterTotalDelta, keyof RollupAmount>>();
  for (const { total, count, record, minuteStartMs } of fine.values()) {
    const { clusterId, provider, operation, model } = record;
    const units = total / NANOS_PER_UNIT;
    const group = { units, nanos: total - units * NANOS_PER_UNIT, count, minuteStartMs };
    const currency = record.cost.currency;
    const base = `${clusterId}\u0000${currency}`;
    add(totals, base, { clusterId, currency }, group);
    for (const level of CLUSTER_LEVELS) {
      const bucketStartMs = floorTo(group.minuteStartMs, BUCKET_MS[level]);
      add(cluster, `${level}\u0000${bucketStartMs}\u0000${base}`, { level, clusterId, currency, bucketStartMs }, group);
    }
    for (const level of DETAIL_LEVELS) {
      const bucketStartMs = floorTo(group.minuteStartMs, BUCKET_MS[level]);
      const key = `${level}\u0000${bucketStartMs}\u0000${base}\u0000${provider}\u0000${operation}\u0000${model}`;
      add(detail, key, { level, clusterId, currency, provider, operation, model, bucketStartMs }, group);
    }
  }
  return { cluster: [...cluster.values()], detail: [...detail.values()], totals: [...totals.values()] };
}

function add<T extends object>(map: Map<string, Acc & T>, key: string, fields: T, amount: Acc): void {
  const acc = map.get(key);
  if (acc) {
    acc.units += amount.units;
    acc.nanos += amount.nanos;
    acc.count += amount.count;
  } else {
    map.set(key, { ...fields, units: amount.units, nanos: amount.nanos, count: amount.count });
  }
}
