#!/usr/bin/env node
// Runs the compiled build (`npm run build`, dist/) when there is one: no TypeScript
// loader in the process, which saves about 40 MiB of resident memory and the start-up
// compile. Without a build, or with COST_CORE_FROM_SOURCE=1 (tests, and anyone editing
// src/ without rebuilding), it runs the TypeScript sources through tsx.
import { existsSync } from "node:fs";

const built = new URL("../dist/src/cli/main.js", import.meta.url);
if (process.env.COST_CORE_FROM_SOURCE !== "1" && existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/main.ts");
}
