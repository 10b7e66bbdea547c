import { setFlagsFromString } from "node:v8";

/**
 * Caps how far V8 lets a heap grow past what was live after its last full
 * collection (the flag is process-wide: the SQLite writer thread, started later,
 * follows it too). 0 leaves V8's adaptive factor, up to 4x, in place.
 *
 * Why: records wait for their commit long enough to be promoted out of the young
 * generation, so a streaming server's old generation is mostly garbage, and with
 * V8's own factor the heap reached about four times its live size. The trade, in
 * one `npm run bench` run on 2 cores: at 50 %, peak RSS streaming 5M records 287 MB
 * and unary RecordCost 0.76 of a no-op unary RPC; at 0, 392 MB and 0.91 (more
 * frequent collections cost the unary path, which allocates a lot per call).
 * It only changes when collections run, never how much may be live, so unlike
 * --max-old-space-size it cannot make the process run out of memory.
 */
export function limitHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
