import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { CostRecordSchema, type CostRecord } from "../gen/dreamnet/cost/v1/cost_record_pb.js";
import type { RecordCostsRequest } from "../gen/dreamnet/cost/v1/cost_service_pb.js";
import { timestampFromMs } from "../src/api/time-mapping.js";
import type { CostClient } from "../src/client/index.js";

/** Clusters the benchmark writes to. */
export const CLUSTERS = ["api-keeper", "search", "chat", "billing", "ingest"];
const PROVIDERS = ["openai", "anthropic", "google"];
const OPERATIONS = ["chat-completion", "embedding", "moderation"];
const MODELS = ["gpt-4", "claude", "gemini", "small"];

/** One wire record with a random UUIDv4 id, stamped `ageMs` before `nowMs`. */
export function benchRecord(i: number, nowMs: number, ageMs: number): CostRecord {
  return create(CostRecordSchema, {
    id: randomUUID(),
    clusterId: CLUSTERS[i % CLUSTERS.length] as string,
    provider: PROVIDERS[i % PROVIDERS.length] as string,
    operation: OPERATIONS[(i >> 2) % OPERATIONS.length] as string,
    model: MODELS[(i >> 3) % MODELS.length] as string,
    cost: { currencyCode: "USD", units: 0n, nanos: 2_000_000 + (i % 1000) },
    timestamp: timestampFromMs(nowMs - ageMs),
    traceId: `trace-${i}`,
  });
}

/** Stream messages of `perMessage` records, built as they are sent (so memory stays flat). */
export async function* recordMessages(total: number, perMessage: number, nowMs: number, spreadMs: number): AsyncGenerator<RecordCostsRequest> {
  for (let i = 0; i < total; i += perMessage) {
    const records: CostRecord[] = [];
    for (let j = i; j < Math.min(total, i + perMessage); j++) records.push(benchRecord(j, nowMs, Math.floor(Math.random() * spreadMs)));
    yield { records } as unknown as RecordCostsRequest;
  }
}

/** Streams `total` records over `streams` concurrent RecordCosts calls; resolves with records/s and accepted. */
export async function streamRecords(client: CostClient, total: number, options: { perMessage: number; streams: number; spreadMs: number }): Promise<{ perSecond: number; accepted: bigint; seconds: number }> {
  const nowMs = Date.now();
  const share = Math.ceil(total / options.streams);
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: options.streams }, (_, s) =>
      client.recordCosts(recordMessages(Math.min(share, total - s * share), options.perMessage, nowMs, options.spreadMs)),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: total / seconds, accepted: results.reduce((n, r) => n + r.acceptedCount, 0n), seconds };
}

/**
 * `total` unary calls against each server, in rounds that take the servers in turn,
 * so that a slow spell of a shared machine falls on all alike rather than on whichever
 * ran last (measured: back to back, the same baseline gave 2,400 to 3,500 calls/s from
 * run to run). A first round of 1,000 calls each, not counted, warms every server up.
 * One result per client, in order.
 */
export async function alternatingUnaryCalls(
  clients: readonly CostClient[],
  total: number,
  concurrency: number,
  rounds: number,
): Promise<{ perSecond: number; p50: number; p99: number }[]> {
  const seconds = clients.map(() => 0);
  const latencies = clients.map((): number[] => []);
  const perRound = Math.ceil(total / rounds);
  for (const client of clients) await unaryRound(client, 1_000, concurrency);
  for (let r = 0; r < rounds; r++) {
    for (const [which, client] of clients.entries()) {
      const round = await unaryRound(client, perRound, concurrency);
      seconds[which] = (seconds[which] ?? 0) + round.seconds;
      latencies[which]?.push(...round.latencies);
    }
  }
  return clients.map((_, which) => ({ perSecond: (perRound * rounds) / (seconds[which] ?? 1), ...percentiles(latencies[which] ?? []) }));
}

/** Unary RecordCost calls from `concurrency` workers: their time in seconds and each call's latency in ms. */
async function unaryRound(client: CostClient, total: number, concurrency: number): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const nowMs = Date.now();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        await client.recordCost({ record: benchRecord(i, nowMs, 1_000) });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies };
}

/** p50 and p99 of samples, in their unit. */
export function percentiles(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99) };
}
