import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config.js";

describe("COST_CORE_HEAP_GROWTH_PERCENT", () => {
  it("defaults to 50 and accepts 0, which leaves heap growth to V8", () => {
    expect(parseConfig({}).heapGrowthPercent).toBe(50);
    expect(parseConfig({ HEAP_GROWTH_PERCENT: "0" }).heapGrowthPercent).toBe(0);
    expect(parseConfig({ HEAP_GROWTH_PERCENT: "300" }).heapGrowthPercent).toBe(300);
  });

  it.each(["-5", "1.5", "fifty", "", "1001"])("refuses %j, naming the setting and its range", (value) => {
    let problems: readonly string[] = [];
    try {
      parseConfig({ HEAP_GROWTH_PERCENT: value });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    expect(problems).toEqual([`COST_CORE_HEAP_GROWTH_PERCENT must be a whole number from 0 to 1000 (got "${value}")`]);
  });
});
