import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import type { CostRecord, CostRecordSchema } from "../../gen/dreamnet/cost/v1/cost_record_pb.js";
import { csvLine } from "./csv.js";

/**
 * The file format of cost records shared by `cost-core import` and `cost-core
 * export`: CSV with these columns, or JSONL with these keys (snake_case or
 * camelCase). Amounts are decimal text ("0.002") with a currency column, never
 * binary floats; timestamps are ISO 8601 or epoch milliseconds; metadata is JSON.
 */
export const RECORD_COLUMNS = ["id", "cluster_id", "provider", "operation", "model", "cost", "currency", "timestamp", "trace_id", "metadata"] as const;

/** One column of a cost record file. */
export type RecordColumn = (typeof RECORD_COLUMNS)[number];

/** Columns a row must fill; the others may be empty or absent. */
const REQUIRED_COLUMNS: readonly RecordColumn[] = ["id", "cluster_id", "provider", "operation", "cost", "currency", "timestamp"];

const CAMEL_CASE: Readonly<Record<RecordColumn, string>> = {
  id: "id",
  cluster_id: "clusterId",
  provider: "provider",
  operation: "operation",
  model: "model",
  cost: "cost",
  currency: "currency",
  timestamp: "timestamp",
  trace_id: "traceId",
  metadata: "metadata",
};

const COLUMN_OF_KEY: ReadonlyMap<string, RecordColumn> = new Map(RECORD_COLUMNS.flatMap((column) => [[column, column] as const, [CAMEL_CASE[column], column] as const]));

/** The column a CSV header cell or JSON key names (snake_case or camelCase), or undefined. */
export function columnOfKey(key: string): RecordColumn | undefined {
  return COLUMN_OF_KEY.get(key);
}

/** A record as the client sends it. */
export type RecordInit = MessageInitShape<typeof CostRecordSchema>;

/** Why a row cannot become a record: the column at fault and what is wrong. */
export interface RowProblem {
  readonly field: string;
  readonly message: string;
}

/** Whether a row conversion failed. */
export function isRowProblem(value: RecordInit | RowProblem): value is RowProblem {
  return "message" in value && "field" in value;
}

/** The columns of a CSV header, or a message saying what is wrong with it. */
export function columnsOfCsvHeader(cells: readonly string[]): RecordColumn[] | string {
  const columns: RecordColumn[] = [];
  for (const cell of cells) {
    const column = columnOfKey(cell.trim());
    if (!column) return `unknown column "${cell}" in the header; the columns are ${RECORD_COLUMNS.join(",")}`;
    if (columns.includes(column)) return `column "${cell}" appears twice in the header`;
    columns.push(column);
  }
  const missing = REQUIRED_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length > 0) return `the header lacks the column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`;
  return columns;
}

/** A record from the fields of a CSV row under `columns`. */
export function recordFromCsvFields(columns: readonly RecordColumn[], fields: readonly string[]): RecordInit | RowProblem {
  if (fields.length !== columns.length) return { field: "", message: `has ${fields.length} fields where the header has ${columns.length}` };
  const row: Partial<Record<RecordColumn, unknown>> = {};
  columns.forEach((column, i) => (row[column] = fields[i]));
  return recordFromRow(row);
}

/** A record from one JSONL line. */
export function recordFromJsonLine(line: string): RecordInit | RowProblem {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    return { field: "", message: `is not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return { field: "", message: "is not a JSON object" };
  const row: Partial<Record<RecordColumn, unknown>> = {};
  for (const [key, value] of Object.entries(parsed)) {
    const column = columnOfKey(key);
    if (!column) return { field: key, message: `is not a field of a cost record (the fields are ${RECORD_COLUMNS.join(", ")})` };
    row[column] = value;
  }
  return recordFromRow(row);
}

/**
 * A record from a row's values. Only what the file format itself defines is
 * checked here (presence, decimal amounts, times, JSON); the server checks the
 * rest and reports it per record.
 */
export function recordFromRow(row: Partial<Record<RecordColumn, unknown>>): RecordInit | RowProblem {
  const text: Partial<Record<RecordColumn, string>> = {};
  for (const column of RECORD_COLUMNS) {
    const value = row[column];
    if (value === undefined || value === null) continue;
    if (column === "metadata" && typeof value === "object") continue;
    if (typeof value === "number" && (column === "cost" || column === "timestamp")) text[column] = String(value);
    else if (typeof value === "string") text[column] = value;
    else return { field: column, message: `must be ${column === "cost" || column === "timestamp" ? "a string or a number" : "a string"}` };
  }
  for (const column of REQUIRED_COLUMNS) {
    if (!text[column]) return { field: column, message: column === "id" ? "is required: ids make a re-run safe" : "is required" };
  }
  const cost = unitsAndNanosOf(text.cost ?? "");
  if (!cost) return { field: "cost", message: `must be a decimal amount with at most 9 decimals, such as 0.002 (got ${JSON.stringify(text.cost)})` };
  const timestampMs = msOfTimeText(text.timestamp ?? "");
  if (timestampMs === undefined) return { field: "timestamp", message: `must be an ISO 8601 time or epoch milliseconds (got ${JSON.stringify(text.timestamp)})` };

  let metadata: JsonObject | undefined;
  const rawMetadata = row.metadata;
  if (typeof rawMetadata === "object" && rawMetadata !== null) {
    if (Array.isArray(rawMetadata)) return { field: "metadata", message: "must be a JSON object" };
    metadata = rawMetadata as JsonObject;
  } else if (text.metadata) {
    try {
      const parsed: unknown = JSON.parse(text.metadata);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return { field: "metadata", message: "must be a JSON object" };
      metadata = parsed as JsonObject;
    } catch {
      return { field: "metadata", message: "must be a JSON object (it is not valid JSON)" };
    }
  }

  const seconds = Math.floor(timestampMs / 1000);
  const init: RecordInit = {
    id: text.id,
    clusterId: text.cluster_id,
    provider: text.provider,
    operation: text.operation,
    model: text.model ?? "",
    cost: { currencyCode: text.currency, units: cost.units, nanos: cost.nanos },
    timestamp: { seconds: BigInt(seconds), nanos: (timestampMs - seconds * 1000) * 1_000_000 },
    traceId: text.trace_id ?? "",
  };
  if (metadata !== undefined) init.metadata = metadata;
  return init;
}

/** The CSV header line. */
export function csvHeaderLine(): string {
  return RECORD_COLUMNS.join(",");
}

/** A stored record as a CSV line (without its line break). */
export function csvLineOfRecord(record: CostRecord): string {
  const row = rowOfRecord(record);
  return csvLine(RECORD_COLUMNS.map((column) => row[column]));
}

/** A stored record as a JSONL line (camelCase keys, without its line break). */
export function jsonLineOfRecord(record: CostRecord): string {
  const row = rowOfRecord(record);
  const object: Record<string, unknown> = {};
  for (const column of RECORD_COLUMNS) {
    if (column === "metadata") {
      if (record.metadata !== undefined) object[CAMEL_CASE[column]] = record.metadata;
    } else object[CAMEL_CASE[column]] = row[column];
  }
  return JSON.stringify(object);
}

function rowOfRecord(record: CostRecord): Record<RecordColumn, string> {
  const ms = record.timestamp ? Number(record.timestamp.seconds) * 1000 + Math.floor(record.timestamp.nanos / 1_000_000) : undefined;
  return {
    id: record.id,
    cluster_id: record.clusterId,
    provider: record.provider,
    operation: record.operation,
    model: record.model,
    cost: record.cost ? decimalOf(record.cost.units, record.cost.nanos) : "",
    currency: record.cost?.currencyCode ?? "",
    timestamp: ms === undefined ? "" : new Date(ms).toISOString(),
    trace_id: record.traceId,
    metadata: record.metadata === undefined ? "" : JSON.stringify(record.metadata),
  };
}

const NANOS_PER_UNIT = 1_000_000_000n;

/** The google.type.Money parts of a decimal text such as "0.002" (exact), or undefined. */
export function unitsAndNanosOf(text: string): { units: bigint; nanos: number } | undefined {
  const match = /^(-)?(\d{1,18})(?:\.(\d{1,9}))?$/.exec(text.trim());
  if (!match) return undefined;
  const [, sign, whole = "0", fraction = ""] = match;
  const units = BigInt(whole);
  const nanos = Number(fraction.padEnd(9, "0"));
  return sign ? { units: -units, nanos: nanos === 0 ? 0 : -nanos } : { units, nanos };
}

/** Decimal text of google.type.Money parts, without trailing zeros: "0.002", "20". */
export function decimalOf(units: bigint, nanos: number): string {
  const total = units * NANOS_PER_UNIT + BigInt(nanos);
  const negative = total < 0n;
  const abs = negative ? -total : total;
  const fraction = (abs % NANOS_PER_UNIT).toString().padStart(9, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${abs / NANOS_PER_UNIT}${fraction ? `.${fraction}` : ""}`;
}

/**
 * Epoch milliseconds of an ISO 8601 time ("2026-06-15T12:00:00Z"; without an
 * offset it is UTC) or of whole epoch milliseconds ("1781524800000"), or undefined.
 */
export function msOfTimeText(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d{1,15}$/.test(trimmed)) return Number(trimmed);
  const iso = /^\d{4}-\d{2}-\d{2} \d/.test(trimmed) ? trimmed.replace(" ", "T") : trimmed;
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(iso)) return undefined;
  // Date.parse reads a date-time without an offset as local time: make it UTC.
  const zoned = iso.includes("T") && !/(Z|[+-]\d{2}:?\d{2})$/i.test(iso) ? `${iso}Z` : iso;
  const ms = Date.parse(zoned);
  return Number.isFinite(ms) ? ms : undefined;
}
