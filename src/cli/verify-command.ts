import { toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { VerifyStoreResponseSchema } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { clientFrom, withClientOptions, type ClientFlags } from "./client-options.js";
import { toJsonText } from "./format.js";

/** Adds `verify`: recounts roll-ups and alerts from raw records on the server; exits 1 on any mismatch. */
export function addVerifyCommand(program: Command, run: (server: string, work: () => Promise<void>) => Promise<void>): void {
  withClientOptions(
    program
      .command("verify")
      .description("recount roll-ups and expected alerts from the raw records and report every mismatch (admin)")
      .option("--max <n>", "mismatches to describe", "100"),
  ).action((flags: ClientFlags & { max: string }) =>
    run(flags.server, async () => {
      const report = await clientFrom(flags).verifyStore({ maxMismatches: Number(flags.max) }, { timeoutMs: 3_600_000 });
      if (flags.json) process.stdout.write(`${toJsonText(toJson(VerifyStoreResponseSchema, report))}\n`);
      else {
        process.stdout.write(
          `records ${report.recordsChecked}, roll-up rows ${report.rollupRowsChecked}, budgets ${report.budgetsChecked}, alerts ${report.alertsChecked}: ` +
            `${report.mismatchCount === 0n ? "no mismatches" : `${report.mismatchCount} mismatches`}\n`,
        );
        for (const line of report.mismatches) process.stdout.write(`  ${line}\n`);
      }
      if (report.mismatchCount > 0n) process.exitCode = 1;
    }),
  );
}
