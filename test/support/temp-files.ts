import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

/**
 * A temporary folder for the calling test file, made before its tests and removed
 * after them; returns a function giving a new file path in it on each call.
 */
export function useTempFiles(prefix: string): () => string {
  let dir = "";
  let files = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `cost-core-${prefix}-`));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return () => join(dir, `${prefix}-${++files}.db`);
}
