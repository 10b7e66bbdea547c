import { toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { GetCostBreakdownResponseSchema, GetCostSeriesResponseSchema } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { CostDimension, SeriesGranularity } from "../../gen/dreamnet/cost/v1/cost_summary_pb.js";
import { timestampFromMs } from "../api/time-mapping.js";
import { clientFrom, UsageError, withClientOptions, type ClientFlags } from "./client-options.js";
import { table, toJsonText } from "./format.js";
import { amountText } from "./money-text.js";
import { parseInstant } from "./record-command.js";

const DIMENSIONS: Readonly<Record<string, CostDimension>> = {
  provider: CostDimension.PROVIDER,
  operation: CostDimension.OPERATION,
  model: CostDimension.MODEL,
  cluster: CostDimension.CLUSTER,
};

interface RangeFlags extends ClientFlags {
  readonly cluster?: string;
  readonly start?: string;
  readonly end?: string;
}

/** Adds `breakdown` and `series`. */
export function addReportCommands(program: Command, run: (server: string, work: () => Promise<void>) => Promise<void>): void {
  withClientOptions(
    withRange(program.command("breakdown").description("spend over a range grouped by provider, operation, model or cluster"))
      .argument("<dimension>", "provider, operation, model or cluster"),
  ).action((dimensionName: string, flags: RangeFlags) =>
    run(flags.server, async () => {
      const response = await clientFrom(flags).getCostBreakdown({ ...rangeOf(flags), dimension: dimensionOf(dimensionName) });
      if (flags.json) return void process.stdout.write(`${toJsonText(toJson(GetCostBreakdownResponseSchema, response))}\n`);
      if (response.entries.length === 0) return void process.stdout.write("no costs in this range\n");
      const rows = response.entries.map((e) => [e.key || "-", e.cost?.currencyCode ?? "", amountText(e.cost), e.recordCount.toString()]);
      process.stdout.write(`${table([dimensionName.toUpperCase(), "CURRENCY", "COST", "RECORDS"], rows)}\n`);
    }),
  );

  withClientOptions(
    withRange(program.command("series").description("spend over time in hour or day buckets"))
      .option("--granularity <g>", "hour or day", "hour")
      .option("--split-by <dimension>", "provider, operation, model or cluster")
      .option("--time-zone <zone>", "IANA zone of day buckets", "UTC"),
  ).action((flags: RangeFlags & { granularity: string; splitBy?: string; timeZone: string }) =>
    run(flags.server, async () => {
      const granularity = { hour: SeriesGranularity.HOUR, day: SeriesGranularity.DAY }[flags.granularity];
      if (granularity === undefined) throw new UsageError(`--granularity must be hour or day (got "${flags.granularity}")`);
      const response = await clientFrom(flags).getCostSeries({
        ...rangeOf(flags),
        granularity,
        splitBy: flags.splitBy === undefined ? CostDimension.UNSPECIFIED : dimensionOf(flags.splitBy),
        timeZone: flags.timeZone,
      });
      if (flags.json) return void process.stdout.write(`${toJsonText(toJson(GetCostSeriesResponseSchema, response))}\n`);
      if (response.points.length === 0) return void process.stdout.write("no costs in this range\n");
      const rows = response.points.map((p) => [
        p.bucketStartTime ? timestampDate(p.bucketStartTime).toISOString() : "",
        p.key || "-",
        p.cost?.currencyCode ?? "",
        amountText(p.cost),
        p.recordCount.toString(),
      ]);
      process.stdout.write(`${table(["BUCKET", "KEY", "CURRENCY", "COST", "RECORDS"], rows)}\n`);
    }),
  );
}

function withRange(command: Command): Command {
  return command
    .option("--cluster <id>", "only this cluster")
    .option("--start <time>", "start of the range (ISO 8601 or epoch ms)")
    .option("--end <time>", "end of the range (ISO 8601 or epoch ms)");
}

function rangeOf(flags: RangeFlags): { clusterId: string; startTime?: ReturnType<typeof timestampFromMs>; endTime?: ReturnType<typeof timestampFromMs> } {
  return {
    clusterId: flags.cluster ?? "",
    ...(flags.start ? { startTime: timestampFromMs(parseInstant(flags.start)) } : {}),
    ...(flags.end ? { endTime: timestampFromMs(parseInstant(flags.end)) } : {}),
  };
}

function dimensionOf(name: string): CostDimension {
  const dimension = DIMENSIONS[name];
  if (dimension === undefined) throw new UsageError(`the dimension must be provider, operation, model or cluster (got "${name}")`);
  return dimension;
}
