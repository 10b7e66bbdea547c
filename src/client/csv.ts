/**
 * CSV as RFC 4180 writes it: fields separated by commas, a field holding a comma,
 * a quote or a line break enclosed in double quotes, quotes inside doubled.
 */

/** Reads CSV one text line at a time; a quoted field may span lines. */
export interface CsvLineReader {
  /** Takes the next line (without its line break); returns the fields once a row is complete. */
  push(line: string): string[] | undefined;
  /** Whether a quoted field is still open (the row continues on the next line). */
  readonly pending: boolean;
}

/** Creates a reader for one CSV text. */
export function createCsvLineReader(): CsvLineReader {
  let fields: string[] = [];
  let field = "";
  let inQuotes = false;
  return {
    get pending() {
      return inQuotes;
    },
    push(line) {
      // The common case: nothing quoted on a line that starts a row.
      if (!inQuotes && !line.includes('"')) return line.split(",");
      if (inQuotes) field += "\n";
      for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (inQuotes) {
          if (c !== '"') field += c;
          else if (line[i + 1] === '"') {
            field += '"';
            i++;
          } else inQuotes = false;
        } else if (c === ",") {
          fields.push(field);
          field = "";
        } else if (c === '"' && field === "") inQuotes = true;
        else field += c;
      }
      if (inQuotes) return undefined;
      fields.push(field);
      const row = fields;
      fields = [];
      field = "";
      return row;
    },
  };
}

/** A field as CSV text: quoted only when it must be. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One CSV line (without its line break). */
export function csvLine(values: readonly string[]): string {
  return values.map(csvField).join(",");
}
