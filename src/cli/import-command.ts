import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Command } from "commander";
import type { RecordCostsResponse } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { createCsvLineReader } from "../client/csv.js";
import { recordCostsWithRetry, type CostClient, type RetryOptions } from "../client/index.js";
import { columnsOfCsvHeader, isRowProblem, recordFromCsvFields, recordFromJsonLine, type RecordColumn, type RecordInit, type RowProblem } from "../client/record-rows.js";
import { clientFrom, UsageError, withClientOptions, type ClientFlags } from "./client-options.js";
import { toJsonText } from "./format.js";
import { createProgress, ratePerSecond, type Progress, type ProgressState } from "./progress.js";

/** Records per RecordCosts stream: a stream is the unit that is retried, so it is held in memory. */
const RECORDS_PER_STREAM = 20_000;
/** Streams in flight at once, so reading the file overlaps with the server committing. */
const STREAMS_IN_FLIGHT = 2;
/** Rejections kept for the report. */
const KEPT_REJECTIONS = 100;
/** Rejections printed. */
const SHOWN_REJECTIONS = 10;
/** Files up to this size have their lines counted first, for the progress total. */
const COUNT_LINES_UP_TO_BYTES = 256 * 1024 * 1024;

/** A file format of `cost-core import` and `cost-core export`. */
export type RecordFileFormat = "csv" | "jsonl";

/** Flags of `cost-core import`. */
interface ImportFlags extends ClientFlags {
  readonly format?: string;
  readonly batchSize: string;
  readonly maxAttempts: string;
  readonly progress: boolean;
}

/** One refused record: where it is in the file and why. */
export interface ImportRejection {
  readonly line: number;
  readonly id: string;
  readonly reason: string;
}

/** What an import did. */
export interface ImportReport {
  readonly file: string;
  readonly format: RecordFileFormat;
  /** Lines read, the header and blank lines included. */
  readonly lines: number;
  /** Records found in the file (valid or not). */
  readonly records: number;
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  /** The first rejections, by line. */
  readonly rejections: readonly ImportRejection[];
  readonly elapsedMs: number;
  readonly recordsPerSecond: number;
}

/** Adds `cost-core import <file>`. */
export function addImportCommand(program: Command, run: (server: string, work: () => Promise<void>) => Promise<void>): void {
  withClientOptions(
    program
      .command("import")
      .description(
        "record the costs of a CSV or JSONL file through RecordCosts; safe to re-run (ids make it idempotent). Exits 1 when some records were rejected",
      )
      .argument("<file>", "CSV with the header id,cluster_id,provider,operation,model,cost,currency,timestamp,trace_id,metadata, or JSONL with those keys")
      .option("--format <format>", "csv or jsonl (default: from the file name, .csv or .jsonl/.ndjson)")
      .option("--batch-size <n>", "records per RecordCosts message, 1 to 5000", "1000")
      .option("--max-attempts <n>", "attempts per stream after UNAVAILABLE, RESOURCE_EXHAUSTED or DEADLINE_EXCEEDED", "5")
      .option("--no-progress", "no progress on stderr"),
  ).action((file: string, flags: ImportFlags) =>
    run(flags.server, async () => {
      const format = formatOf(flags.format, file);
      const batchSize = wholeNumber(flags.batchSize, "--batch-size", 1, 5_000);
      const maxAttempts = wholeNumber(flags.maxAttempts, "--max-attempts", 1, 100);
      const report = await importFile({
        file,
        format,
        batchSize,
        client: clientFrom(flags),
        retry: {
          maxAttempts,
          onRetry: (event) => process.stderr.write(`${Code[event.error.code]}: ${event.error.rawMessage}; sending the stream again in ${event.delayMs} ms\n`),
        },
        progress: flags.progress ? (totals) => createProgress({ stream: process.stderr, label: "import", totals }) : undefined,
      });
      process.stdout.write(flags.json ? `${toJsonText(report)}\n` : reportText(report));
      if (report.rejected > 0) process.exitCode = 1;
    }),
  );
}

/** What importFile needs. */
export interface ImportOptions {
  readonly file: string;
  readonly format: RecordFileFormat;
  /** Records per RecordCosts message. */
  readonly batchSize: number;
  readonly client: Pick<CostClient, "recordCosts">;
  readonly retry?: Partial<RetryOptions>;
  /** Creates the progress display once the totals are known; none when undefined. */
  readonly progress?: ((totals: { lines?: number; bytes: number }) => Progress) | undefined;
}

/**
 * Streams a file into RecordCosts: rows become records in messages of `batchSize`,
 * messages go out in streams of about RECORDS_PER_STREAM records, each retried as a
 * whole when the server is unavailable. Rows the file format itself makes invalid
 * are not sent and are reported with the server's rejections, by line.
 */
export async function importFile(options: ImportOptions): Promise<ImportReport> {
  const startMs = Date.now();
  const size = await fileSize(options.file);
  const totalLines = size <= COUNT_LINES_UP_TO_BYTES ? await countLines(options.file) : undefined;
  const progress = options.progress?.({ lines: totalLines, bytes: size });
  const messagesPerStream = Math.max(1, Math.floor(RECORDS_PER_STREAM / options.batchSize));

  let state: ProgressState = { lines: 0, records: 0, bytes: 0 };
  let accepted = 0;
  let duplicates = 0;
  let rejected = 0;
  const rejections: ImportRejection[] = [];
  const reject = (rejection: ImportRejection): void => {
    rejected++;
    rejections.push(rejection);
    // Streams answer out of order: keep the first rejections by line, not by arrival.
    if (rejections.length > 2 * KEPT_REJECTIONS) rejections.sort((a, b) => a.line - b.line).splice(KEPT_REJECTIONS);
  };

  const inFlight = new Set<Promise<void>>();
  // Streams that failed (after retries). Several are in flight, and which fails first is
  // a race: the error names the lines of all of them, from the earliest.
  const failures: StreamFailure[] = [];
  const send = (stream: PendingStream): void => {
    const sent = recordCostsWithRetry(options.client, stream.messages, { retry: options.retry }).then(
      (response) => tally(stream, response),
      (error: unknown) => void failures.push({ error, stream }),
    );
    const tracked = sent.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };
  const tally = (stream: PendingStream, response: RecordCostsResponse): void => {
    state = { ...state, records: state.records + stream.lines.length };
    progress?.update(state);
    accepted += Number(response.acceptedCount);
    duplicates += Number(response.duplicateCount);
    // Counted here, listed from the response (the server lists the first 100 per stream).
    rejected += Number(response.rejectedCount) - response.rejected.length;
    for (const r of response.rejected) reject({ line: stream.lines[Number(r.index)] ?? 0, id: r.id, reason: r.message || r.field || "rejected" });
  };

  let stream = newStream();
  let found = 0;
  let finished = false;
  try {
    for await (const row of readRows(options.file, options.format, (lines, bytes) => (state = { ...state, lines, bytes }))) {
      found++;
      progress?.update(state);
      if (isRowProblem(row.record)) {
        reject({ line: row.line, id: row.id, reason: problemText(row.record) });
        state = { ...state, records: state.records + 1 };
        continue;
      }
      let message = stream.messages[stream.messages.length - 1];
      if (!message || message.records.length >= options.batchSize) {
        if (stream.messages.length >= messagesPerStream) {
          send(stream);
          stream = newStream();
          while (inFlight.size >= STREAMS_IN_FLIGHT) await Promise.race(inFlight);
          if (failures.length > 0) break;
        }
        message = { records: [] };
        stream.messages.push(message);
      }
      message.records.push(row.record);
      stream.lines.push(row.line);
    }
    if (failures.length === 0 && stream.lines.length > 0) send(stream);
    await Promise.all(inFlight);
    finished = failures.length === 0;
  } finally {
    if (finished) progress?.finish(state);
    else progress?.stop();
  }
  if (failures.length > 0) throw stoppedError(failures);

  rejections.sort((a, b) => a.line - b.line).splice(KEPT_REJECTIONS);
  const elapsedMs = Date.now() - startMs;
  return {
    file: options.file,
    format: options.format,
    lines: state.lines,
    records: found,
    accepted,
    duplicates,
    rejected,
    rejections,
    elapsedMs,
    recordsPerSecond: ratePerSecond(found, elapsedMs),
  };
}

/** Records waiting to go out as one RecordCosts stream, with the file line of each. */
interface PendingStream {
  readonly messages: { records: RecordInit[] }[];
  /** lines[i] is the line of the stream's record i (the server's rejection index). */
  readonly lines: number[];
}

/** A stream that failed after its retries. */
interface StreamFailure {
  readonly error: unknown;
  readonly stream: PendingStream;
}

function newStream(): PendingStream {
  return { messages: [], lines: [] };
}

/** One row of the file: a record, or why the row is not one. */
interface Row {
  /** The line the row starts on, from 1. */
  readonly line: number;
  readonly id: string;
  readonly record: RecordInit | RowProblem;
}

/**
 * The rows of a file, read as a stream (never the whole file at once). `onRead`
 * hears lines and bytes read so far. A bad CSV header stops the import at once.
 */
async function* readRows(file: string, format: RecordFileFormat, onRead: (lines: number, bytes: number) => void): AsyncGenerator<Row> {
  const input = createReadStream(file, { highWaterMark: 1024 * 1024 });
  const lines = createInterface({ input, crlfDelay: Infinity });
  const csv = createCsvLineReader();
  let columns: RecordColumn[] | undefined;
  let lineNumber = 0;
  let rowStart = 0;
  try {
    for await (const raw of lines) {
      lineNumber++;
      onRead(lineNumber, input.bytesRead);
      const line = lineNumber === 1 ? raw.replace(/^\uFEFF/, "") : raw;
      if (!csv.pending) rowStart = lineNumber;
      if (format === "jsonl") {
        if (line.trim() === "") continue;
        const record = recordFromJsonLine(line);
        yield { line: lineNumber, id: idOf(record, () => jsonId(line)), record };
        continue;
      }
      if (!csv.pending && line.trim() === "") continue;
      const fields = csv.push(line);
      if (!fields) continue;
      if (!columns) {
        const header = columnsOfCsvHeader(fields);
        if (typeof header === "string") throw new UsageError(`${file}:${rowStart}: ${header}`);
        columns = header;
        continue;
      }
      const record = recordFromCsvFields(columns, fields);
      const idColumn = columns.indexOf("id");
      yield { line: rowStart, id: idOf(record, () => fields[idColumn] ?? ""), record };
    }
    if (csv.pending) yield { line: rowStart, id: "", record: { field: "", message: "has a quoted field that is never closed" } };
    if (format === "csv" && !columns) throw new UsageError(`${file}: no header line (${columnsHint()})`);
  } finally {
    lines.close();
    input.destroy();
  }
}

function idOf(record: RecordInit | RowProblem, fallback: () => string): string {
  return isRowProblem(record) ? fallback() : (record.id ?? "");
}

function jsonId(line: string): string {
  try {
    const parsed: unknown = JSON.parse(line);
    const id = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>)["id"] : undefined;
    return typeof id === "string" ? id : "";
  } catch {
    return "";
  }
}

function problemText(problem: RowProblem): string {
  return problem.field ? `${problem.field} ${problem.message}` : `the row ${problem.message}`;
}

/** The error that stops an import, saying which lines may be missing and that a re-run is safe. */
function stoppedError(failures: readonly StreamFailure[]): ConnectError {
  const firstLine = (f: StreamFailure): number => f.stream.lines[0] ?? 0;
  const earliest = failures.reduce((a, b) => (firstLine(b) < firstLine(a) ? b : a));
  const cause = ConnectError.from(earliest.error);
  const first = firstLine(earliest);
  const last = Math.max(...failures.map((f) => f.stream.lines[f.stream.lines.length - 1] ?? first));
  return new ConnectError(
    `${cause.rawMessage} (import stopped: lines ${first} to ${last} may not be stored; re-running the same import is safe, stored records count as duplicates)`,
    cause.code,
    cause.metadata,
    undefined,
    cause,
  );
}

/** The report as text for people. */
function reportText(report: ImportReport): string {
  const seconds = (report.elapsedMs / 1000).toFixed(2);
  const out = [
    `imported ${report.file}: ${report.records} records from ${report.lines} lines in ${seconds} s (${report.recordsPerSecond} records/s)`,
    `  accepted    ${report.accepted}`,
    `  duplicates  ${report.duplicates}`,
    `  rejected    ${report.rejected}`,
  ];
  if (report.rejections.length > 0) {
    out.push(`first rejections:`);
    for (const r of report.rejections.slice(0, SHOWN_REJECTIONS)) out.push(`  line ${r.line}${r.id ? ` (id ${JSON.stringify(r.id)})` : ""}: ${r.reason}`);
  }
  return `${out.join("\n")}\n`;
}

/** The format from --format, or from the file name. */
export function formatOf(flag: string | undefined, file: string | undefined): RecordFileFormat {
  if (flag !== undefined) {
    if (flag === "csv" || flag === "jsonl") return flag;
    throw new UsageError(`--format must be csv or jsonl (got "${flag}")`);
  }
  if (file === undefined || /\.csv$/i.test(file)) return "csv";
  if (/\.(jsonl|ndjson)$/i.test(file)) return "jsonl";
  throw new UsageError(`cannot tell the format of "${file}" from its name: pass --format csv or --format jsonl`);
}

function wholeNumber(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max} (got "${text}")`);
  return n;
}

function columnsHint(): string {
  return "the first line must name the columns, e.g. id,cluster_id,provider,operation,model,cost,currency,timestamp,trace_id,metadata";
}

async function fileSize(file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new UsageError(`${file} is not a file`);
    return info.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Lines in a file (a last line without a line break counts), read in chunks. */
async function countLines(file: string): Promise<number> {
  let lines = 0;
  let last = 0x0a;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
    if (chunk.length > 0) last = chunk[chunk.length - 1] ?? last;
  }
  return last === 0x0a ? lines : lines + 1;
}
