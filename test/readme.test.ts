import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SETTINGS } from "../src/config.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

describe("README.md", () => {
  it("documents every setting the server reads", () => {
    const missing = Object.keys(SETTINGS).filter((name) => !readme.includes(`COST_CORE_${name}`));
    expect(missing).toEqual([]);
  });

  it("keeps the quick start to the two commands that install, run and test", () => {
    const quickStart = readme.slice(readme.indexOf("## Quick start"), readme.indexOf("## Try it"));
    expect(quickStart).toContain("npm install && npm start");
    expect(quickStart).toContain("npm test");
  });
});
