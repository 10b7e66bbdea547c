import { Code, ConnectError } from "@connectrpc/connect";

/** A field of a request that is missing or out of bounds, with a message a caller can act on. */
export interface FieldViolation {
  /** Path of the field, e.g. "records[3].cost.nanos". */
  readonly field: string;
  /** What is wrong, without the field name. */
  readonly description: string;
}

/** An InvalidArgument error naming the field at fault: "<field> <description>". */
export function invalidArgument(violation: FieldViolation): ConnectError {
  return new ConnectError(`${violation.field} ${violation.description}`, Code.InvalidArgument);
}

/** Joins a field path: fieldPath("records[2]", "cost") is "records[2].cost". */
export function fieldPath(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}
