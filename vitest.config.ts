import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Suites start real servers on loopback; two cores are shared between them.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ["default", "./test/support/totals-reporter.ts"],
  },
});
