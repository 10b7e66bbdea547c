import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { CostRecord as CostRecordProto } from "../../gen/dreamnet/cost/v1/cost_record_pb.js";
import type { CostRecord } from "../domain/cost-record.js";
import { RECORD_LIMITS, RESOURCE_ID_PATTERN } from "../domain/limits.js";
import { fieldPath, type FieldViolation } from "./field-violation.js";
import { isViolation, moneyFromProto, quote } from "./money-mapping.js";
import { msFromTimestamp } from "./time-mapping.js";

// C0 and C1 control characters and DEL: never meaningful in an id or a name, and
// they break logs, CSV exports and terminals.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const UTF8 = new TextEncoder();
const MAX_COST_NANOS = RECORD_LIMITS.maxCostUnits * 1_000_000_000n;

/**
 * Validates a wire record against the limits and maps it to the domain, or returns
 * the first violation with its path under `prefix` (e.g. "records[3]").
 */
export function recordFromProto(proto: CostRecordProto, nowMs: number, prefix: string): CostRecord | FieldViolation {
  // Field paths are built only for a violation: this runs for every record ingested.
  const at = (name: string): string => fieldPath(prefix, name);

  const problem = textProblem(proto);
  if (problem) return { field: at(problem.name), description: problem.description };

  const cost = moneyFromProto(proto.cost, at("cost"));
  if (isViolation(cost)) return cost;
  if (cost.nanos < 0n) return { field: at("cost"), description: "must not be negative" };
  if (cost.nanos > MAX_COST_NANOS) {
    return { field: at("cost.units"), description: `must be at most ${RECORD_LIMITS.maxCostUnits} for one record` };
  }

  if (!proto.timestamp) return { field: at("timestamp"), description: "is required" };
  const timestampMs = msFromTimestamp(proto.timestamp, at("timestamp"));
  if (isViolation(timestampMs)) return timestampMs;
  if (timestampMs < RECORD_LIMITS.minTimestampMs) return { field: at("timestamp"), description: "must not be before 2000-01-01T00:00:00Z" };
  if (timestampMs > nowMs + RECORD_LIMITS.maxFutureSkewMs) {
    return {
      field: at("timestamp"),
      description: `is ${Math.round((timestampMs - nowMs) / 1000)} s ahead of the server clock; at most ${RECORD_LIMITS.maxFutureSkewMs / 1000} s is allowed`,
    };
  }

  let metadataJson = "";
  let metadataModel = "";
  if (proto.metadata) {
    const metadata = metadataFromProto(proto.metadata, at("metadata"));
    if (isViolation(metadata)) return metadata;
    metadataJson = metadata.json;
    metadataModel = metadata.model;
  }
  const model = proto.model || metadataModel;
  if (model !== proto.model) {
    const description = checkText(model, RECORD_LIMITS.maxNameLength, false);
    if (description) return { field: at("metadata.model"), description };
  }

  return {
    id: proto.id,
    clusterId: proto.clusterId,
    provider: proto.provider,
    operation: proto.operation,
    model,
    cost,
    timestampMs,
    traceId: proto.traceId,
    metadataJson,
  };
}

/** The first text field that breaks a rule, by its wire name; no allocation when all pass. */
function textProblem(proto: CostRecordProto): { name: string; description: string } | undefined {
  const { maxIdLength, maxNameLength } = RECORD_LIMITS;
  let description: string | undefined;
  if ((description = checkText(proto.id, maxIdLength, true))) return { name: "id", description };
  if ((description = checkText(proto.clusterId, maxNameLength, true))) return { name: "cluster_id", description };
  if (!RESOURCE_ID_PATTERN.test(proto.clusterId)) {
    return { name: "cluster_id", description: `must start with a letter or digit and hold only A-Z a-z 0-9 . _ : - (got ${quote(proto.clusterId)})` };
  }
  if ((description = checkText(proto.provider, maxNameLength, true))) return { name: "provider", description };
  if ((description = checkText(proto.operation, maxNameLength, true))) return { name: "operation", description };
  if ((description = checkText(proto.model, maxNameLength, false))) return { name: "model", description };
  if ((description = checkText(proto.traceId, maxNameLength, false))) return { name: "trace_id", description };
  return undefined;
}

/** What is wrong with a text field, or undefined. */
function checkText(value: string, maxLength: number, required: boolean): string | undefined {
  if (value.length === 0) return required ? "is required" : undefined;
  // UTF-16 length is an upper bound of the character count; count exactly only when it matters.
  if (value.length > maxLength && [...value].length > maxLength) return `must be at most ${maxLength} characters`;
  if (CONTROL.test(value)) return "must not contain control characters";
  if (!value.isWellFormed()) return "must be valid Unicode (it holds a lone surrogate)";
  if (value.trim() !== value) return "must not start or end with white space";
  return undefined;
}

// protobuf-es hands google.protobuf.Struct over as a plain JSON object.
function metadataFromProto(value: JsonObject, field: string): { json: string; model: string } | FieldViolation {
  if (!allFinite(value)) return { field, description: "holds a number JSON cannot represent (NaN or Infinity)" };
  if (!allWellFormed(value)) return { field, description: "holds a key or string that is not valid Unicode (a lone surrogate)" };
  const depth = jsonDepth(value);
  if (depth > RECORD_LIMITS.maxMetadataDepth) {
    return { field, description: `is nested ${depth} levels deep; at most ${RECORD_LIMITS.maxMetadataDepth} are allowed` };
  }
  const json = canonicalJson(value);
  const bytes = UTF8.encode(json).length;
  if (bytes > RECORD_LIMITS.maxMetadataBytes) {
    return { field, description: `is ${bytes} bytes as JSON; at most ${RECORD_LIMITS.maxMetadataBytes} are allowed` };
  }
  const model = value.model;
  return { json, model: typeof model === "string" ? model : "" };
}

function allFinite(value: JsonValue): boolean {
  if (typeof value === "number") return Number.isFinite(value);
  if (typeof value !== "object" || value === null) return true;
  return (Array.isArray(value) ? value : Object.values(value)).every((v) => allFinite(v as JsonValue));
}

function allWellFormed(value: JsonValue): boolean {
  if (typeof value === "string") return value.isWellFormed();
  if (typeof value !== "object" || value === null) return true;
  if (Array.isArray(value)) return value.every((v) => allWellFormed(v));
  return Object.entries(value).every(([k, v]) => k.isWellFormed() && allWellFormed(v as JsonValue));
}

/** Nesting depth of objects and arrays: a flat object is 1. */
function jsonDepth(value: JsonValue): number {
  if (typeof value !== "object" || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  let deepest = 0;
  for (const child of children) deepest = Math.max(deepest, jsonDepth(child as JsonValue));
  return 1 + deepest;
}

/** JSON with object keys sorted, so the same content always has the same text. */
export function canonicalJson(value: JsonValue): string {
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] as JsonValue)}`).join(",")}}`;
}
