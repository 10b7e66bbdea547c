import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import path from "node:path";
import type { Writable } from "node:stream";
import type { Command } from "commander";
import { timestampFromMs } from "../api/time-mapping.js";
import type { CostClient } from "../client/index.js";
import { csvHeaderLine, csvLineOfRecord, jsonLineOfRecord } from "../client/record-rows.js";
import { clientFrom, withClientOptions, type ClientFlags } from "./client-options.js";
import { formatOf, type RecordFileFormat } from "./import-command.js";
import { parseInstant } from "./record-command.js";

/** Flags of `cost-core export`. */
interface ExportFlags extends ClientFlags {
  readonly format?: string;
  readonly cluster?: string;
  readonly start?: string;
  readonly end?: string;
  readonly output?: string;
}

/** Adds `cost-core export`. */
export function addExportCommand(program: Command, run: (server: string, work: () => Promise<void>) => Promise<void>): void {
  withClientOptions(
    program
      .command("export")
      .description("write stored cost records as CSV or JSONL through ExportCosts, in the format `cost-core import` reads")
      .option("--format <format>", "csv or jsonl (default: from the --output name, else csv)")
      .option("--cluster <id>", "only this cluster")
      .option("--start <time>", "records at or after this time (ISO 8601 or epoch ms)")
      .option("--end <time>", "records before this time (ISO 8601 or epoch ms); default now")
      .option("-o, --output <file>", "file to write (written whole or not at all); default stdout"),
  ).action((flags: ExportFlags) =>
    run(flags.server, async () => {
      const format = formatOf(flags.format, flags.output);
      const request = {
        clusterId: flags.cluster ?? "",
        startTime: flags.start === undefined ? undefined : timestampFromMs(parseInstant(flags.start)),
        endTime: flags.end === undefined ? undefined : timestampFromMs(parseInstant(flags.end)),
      };
      const client = clientFrom(flags);
      const count = flags.output ? await exportToFile(client, request, format, flags.output) : await exportRecords(client, request, format, process.stdout);
      process.stderr.write(`exported ${count} records${flags.output ? ` to ${flags.output}` : ""}\n`);
    }),
  );
}

type ExportRequest = Parameters<CostClient["exportCosts"]>[0];

/** Writes the file under a temporary name and renames it once complete, so a failed export leaves no partial file behind. */
async function exportToFile(client: CostClient, request: ExportRequest, format: RecordFileFormat, file: string): Promise<number> {
  const partial = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.partial`);
  const out = createWriteStream(partial);
  try {
    const count = await exportRecords(client, request, format, out);
    out.end();
    await once(out, "finish");
    await rename(partial, file);
    return count;
  } catch (error) {
    out.destroy();
    await rm(partial, { force: true });
    throw error;
  }
}

/** Streams ExportCosts into `out` page by page, respecting back-pressure; returns the number of records. */
export async function exportRecords(client: Pick<CostClient, "exportCosts">, request: ExportRequest, format: RecordFileFormat, out: Writable): Promise<number> {
  const lineOf = format === "csv" ? csvLineOfRecord : jsonLineOfRecord;
  let count = 0;
  if (format === "csv") await write(out, `${csvHeaderLine()}\n`);
  for await (const page of client.exportCosts({ ...request, pageSize: 1_000 })) {
    if (page.records.length === 0) continue;
    count += page.records.length;
    await write(out, `${page.records.map(lineOf).join("\n")}\n`);
  }
  return count;
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, "drain");
}
