import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

// The browser code has its own tsconfig (DOM types, no Node types), which the root
// `tsc --noEmit` does not cover: this is its type check in `npm test`.
describe("the dashboard's browser code", () => {
  it("type-checks with DOM types and without Node's", async () => {
    const outcome = await run(process.execPath, ["node_modules/typescript/bin/tsc", "--noEmit", "-p", "src/dashboard/.app/tsconfig.json"]).then(
      () => ({ ok: true, output: "" }),
      (error: { stdout?: string; stderr?: string }) => ({ ok: false, output: `${error.stdout ?? ""}${error.stderr ?? ""}` }),
    );
    expect(outcome.output).toBe("");
    expect(outcome.ok).toBe(true);
  });
});
