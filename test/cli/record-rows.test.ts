import { describe, expect, it } from "vitest";
import { createCsvLineReader, csvLine } from "../../src/client/csv.js";
import { columnsOfCsvHeader, decimalOf, msOfTimeText, recordFromCsvFields, recordFromJsonLine, unitsAndNanosOf } from "../../src/client/record-rows.js";
import { formatProgressBar, formatProgressLine } from "../../src/cli/progress.js";

describe("createCsvLineReader()", () => {
  it("splits plain lines, unquotes quoted fields with commas and doubled quotes, and joins a quoted field across lines", () => {
    const reader = createCsvLineReader();
    expect(reader.push("a,b,,d")).toEqual(["a", "b", "", "d"]);
    expect(reader.push('x,"1,5","say ""hi""",')).toEqual(["x", "1,5", 'say "hi"', ""]);
    expect(reader.push('y,"first')).toBeUndefined();
    expect(reader.pending).toBe(true);
    expect(reader.push('second",z')).toEqual(["y", "first\nsecond", "z"]);
    expect(reader.pending).toBe(false);
  });

  it("reads back what csvLine writes", () => {
    const values = ["plain", "with,comma", 'with "quotes"', "two\nlines", ""];
    const reader = createCsvLineReader();
    const lines = csvLine(values).split("\n");
    expect(lines.map((line) => reader.push(line)).pop()).toEqual(values);
  });
});

describe("the record file format", () => {
  it("reads decimal amounts exactly and writes them without trailing zeros", () => {
    expect(unitsAndNanosOf("0.002")).toEqual({ units: 0n, nanos: 2_000_000 });
    expect(unitsAndNanosOf("12.5")).toEqual({ units: 12n, nanos: 500_000_000 });
    expect(unitsAndNanosOf("1000000000")).toEqual({ units: 1_000_000_000n, nanos: 0 });
    expect(unitsAndNanosOf("0.0000000001")).toBeUndefined();
    expect(unitsAndNanosOf("1e-3")).toBeUndefined();
    expect([decimalOf(0n, 2_000_000), decimalOf(20n, 0), decimalOf(3n, 141_592_653), decimalOf(-1n, -500_000_000)]).toEqual(["0.002", "20", "3.141592653", "-1.5"]);
  });

  it("reads ISO 8601 times (UTC when no offset is given) and epoch milliseconds", () => {
    const noon = Date.UTC(2026, 5, 15, 12);
    expect(msOfTimeText("2026-06-15T12:00:00Z")).toBe(noon);
    expect(msOfTimeText("2026-06-15T14:00:00+02:00")).toBe(noon);
    expect(msOfTimeText("2026-06-15T12:00:00")).toBe(noon);
    expect(msOfTimeText("2026-06-15 12:00:00.000")).toBe(noon);
    expect(msOfTimeText(String(noon))).toBe(noon);
    expect(msOfTimeText("June 15")).toBeUndefined();
  });

  it("takes the CSV columns in any order, in snake_case or camelCase, and names what is missing", () => {
    expect(columnsOfCsvHeader(["clusterId", "id", "provider", "operation", "cost", "currency", "timestamp"])).toEqual([
      "cluster_id",
      "id",
      "provider",
      "operation",
      "cost",
      "currency",
      "timestamp",
    ]);
    expect(columnsOfCsvHeader(["id", "cluster_id", "cost"])).toBe("the header lacks the columns provider, operation, currency, timestamp");
  });

  it("makes the same record of a CSV row and of a JSONL line", () => {
    const fromCsv = recordFromCsvFields(
      ["id", "cluster_id", "provider", "operation", "model", "cost", "currency", "timestamp", "trace_id", "metadata"],
      ["r-1", "API_KEEPER", "openai", "chat-completion", "gpt-4", "0.002", "USD", "2026-06-15T12:00:00.123Z", "trace-1", '{"tokens":1000}'],
    );
    const fromJson = recordFromJsonLine(
      JSON.stringify({ id: "r-1", cluster_id: "API_KEEPER", provider: "openai", operation: "chat-completion", model: "gpt-4", cost: 0.002, currency: "USD", timestamp: Date.UTC(2026, 5, 15, 12, 0, 0, 123), traceId: "trace-1", metadata: { tokens: 1000 } }),
    );
    expect(fromJson).toEqual(fromCsv);
    expect(fromCsv).toEqual({
      id: "r-1",
      clusterId: "API_KEEPER",
      provider: "openai",
      operation: "chat-completion",
      model: "gpt-4",
      cost: { currencyCode: "USD", units: 0n, nanos: 2_000_000 },
      timestamp: { seconds: BigInt(Date.UTC(2026, 5, 15, 12) / 1000), nanos: 123_000_000 },
      traceId: "trace-1",
      metadata: { tokens: 1000 },
    });
  });

  it("names the field at fault in a JSONL line", () => {
    expect(recordFromJsonLine("[1]")).toEqual({ field: "", message: "is not a JSON object" });
    expect(recordFromJsonLine('{"id":"x","clusterID":"A"}')).toMatchObject({ field: "clusterID" });
    expect(recordFromJsonLine('{"id":"x","cluster_id":"A","provider":"p","operation":"o","cost":true,"currency":"USD","timestamp":1}')).toEqual({
      field: "cost",
      message: "must be a string or a number",
    });
  });
});

describe("progress display", () => {
  const state = { lines: 45_000, records: 44_999, bytes: 4_500_000 };

  it("draws a bar with the share done, lines, rate and time left on a terminal", () => {
    expect(formatProgressBar("import", state, { lines: 100_000, bytes: 10_000_000 }, 1_500, 100)).toBe(
      "import [##############----------------]  45%  45,000/100,000 lines  29,999 records/s  ETA 2 s",
    );
  });

  it("prints a plain line elsewhere, by bytes when the line count is unknown", () => {
    expect(formatProgressLine("import", state, { bytes: 9_000_000 }, 1_000)).toBe("import: 45000 lines (50%), 44999 records, 44999 records/s");
  });
});
