// Reads the V8 CPU profiles a `--profile` run writes (one per thread) and prints
// where each thread spent its time: the functions with the most self time.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** One line per thread profile in `dir`: its busiest functions by self time, in % of the thread's samples. */
export function summarizeProfiles(dir: string, top = 12): string {
  const out: string[] = [];
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const self = new Map<string, number>();
    let total = 0;
    profile.samples.forEach((id, i) => {
      const frame = byId.get(id)?.callFrame;
      const delta = profile.timeDeltas[i] ?? 0;
      total += delta;
      if (!frame) return;
      const where = frame.url ? ` ${frame.url.split("/").pop()}:${frame.lineNumber + 1}` : "";
      const name = `${frame.functionName || "(anonymous)"}${where}`;
      self.set(name, (self.get(name) ?? 0) + delta);
    });
    // Threads that only waited (such as the TypeScript loader's) are left out.
    const idle = self.get("(idle)") ?? 0;
    if (total === 0 || idle / total > 0.9) continue;
    out.push(`${file} (${(total / 1e6).toFixed(1)} s sampled):`);
    for (const [name, time] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`  ${((time / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
  }
  return out.join("\n");
}
