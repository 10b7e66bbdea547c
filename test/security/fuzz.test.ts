import http2 from "node:http2";
import { create, toBinary, toJsonString, type DescMessage, type JsonObject, type JsonValue, type Message } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod, CostBudgetSchema } from "../../gen/dreamnet/cost/v1/budget_pb.js";
import { CostRecordSchema, type CostRecord } from "../../gen/dreamnet/cost/v1/cost_record_pb.js";
import {
  AlertState,
  GetCostSummaryRequestSchema,
  RecordCostRequestSchema,
  RecordCostResponseSchema,
  RecordCostsRequestSchema,
  RecordCostsResponseSchema,
  RecordOutcome,
  SetBudgetRequestSchema,
} from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { MoneySchema } from "../../gen/dreamnet/cost/v1/money_pb.js";
import type { Scope } from "../../src/api/auth/scopes.js";
import type { CostClient } from "../../src/client/index.js";
import { exportAll } from "../support/rpc-helpers.js";
import { fuzzRecord, randomBytes, randomJson, timestampAt } from "../support/security-fuzz-inputs.js";
import { BUDGET_IDS, ingestRequests, otherRequest } from "../support/security-fuzz-requests.js";
import { concatBytes, connectStream, connectUnary, envelope, grpcCall, readEnvelopes, type RawAnswer } from "../support/security-raw-rpc.js";
import { RPC_METHODS, RPC_NAMES, RPC_SCOPES, SERVICE_PATH, decodeMessage, encodeBody, isEnveloped, type RpcName, type Wire } from "../support/security-rpcs.js";
import { createGrpcJsProbe, startSecurityServer, type SecurityServer } from "../support/security-server.js";
import { createSeededRandom, type SeededRandom } from "../support/seeded-random.js";

/*
 * Fuzzes every CostService RPC over real sockets with bytes the test chose: random
 * bodies, valid messages with mutated fields, random JSON, oversized payloads. The
 * test keeps its own oracle of which records are valid (written from the limits in
 * cost_record.proto and the README, not from the server's code), checks each answer
 * against it, and at the end compares the store, record by record, with the records
 * the server acknowledged.
 */

const SEED = 0x5ec_f022;
const NOW = Date.UTC(2026, 5, 15, 12, 0);
const MAIN_REQUESTS = 10_400;
const CONCURRENCY = 16;
const REQUEST_TIMEOUT_MS = 20_000;
const MAX_BYTES = 4 * 1024 * 1024;
const LIMITED_CLUSTER = "FZ_A";

const OTHER_RPCS = RPC_NAMES.filter((n) => n !== "RecordCost" && n !== "RecordCosts");
const LIMITED_SCOPES: readonly Scope[] = ["costs:write", "costs:read"];

/** Every code a well-behaved server may answer here. */
const ALLOWED = new Set([
  "OK",
  "INVALID_ARGUMENT",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "FAILED_PRECONDITION",
  "RESOURCE_EXHAUSTED",
  "UNAUTHENTICATED",
  "PERMISSION_DENIED",
  "UNIMPLEMENTED",
]);

type Credential = "admin" | "admin-x-api-key" | "limited" | "none" | "bad";
type Kind = "message" | "random-bytes" | "random-json" | "oversized" | "resend";

/** What the oracle expects of an answer. */
type Expectation =
  | { readonly kind: "exact"; readonly code: string }
  /** Any allowed code (reads and budget calls whose validation the oracle does not model). */
  | { readonly kind: "any" }
  /** A body the server cannot decode: INVALID_ARGUMENT, or RESOURCE_EXHAUSTED for a frame above the size limit. */
  | { readonly kind: "undecodable" }
  /** Decided by the record oracle when the answer arrives (RecordCost, RecordCosts). */
  | { readonly kind: "ingest" };

/** What the server will decode from an ingest body: its messages in order, and whether decoding fails after them. */
interface Decoded {
  readonly messages: readonly (readonly CostRecord[])[];
  readonly failsAfter: boolean;
}

interface Planned {
  readonly n: number;
  readonly rpc: RpcName | "unknown";
  readonly kind: Kind;
  readonly wire: Wire;
  readonly credential: Credential;
  readonly path: string;
  readonly body: Uint8Array;
  readonly firstMessageOnly: boolean;
  readonly expect: Expectation;
  readonly decoded?: Decoded;
  /** Extra check of a RecordCost answer (resends: DUPLICATE or ACCEPTED). */
  readonly outcome?: RecordOutcome;
}

interface Answered {
  readonly planned: Planned;
  readonly answer: RawAnswer;
  readonly ms: number;
}

// ---------------------------------------------------------------------------
// The record oracle: validity from the documented limits.

const MIN_TIMESTAMP_MS = Date.UTC(2000, 0, 1);
const FUTURE_SKEW_MS = 5 * 60_000;
const MAX_COST_NANOS = 1_000_000_000n * 1_000_000_000n;
const CLUSTER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
// C0 controls, DEL and C1 controls.
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
// Not in the proto or README, but enforced: no white space at either end (see the report).
const EDGE_SPACE = /^\s|\s$/;
// "A known ISO 4217 currency": the runtime's list of ISO 4217 codes.
const KNOWN_CURRENCIES = new Set(Intl.supportedValuesOf("currency"));

function textViolation(value: string, name: string, required: boolean, maxCodePoints: number): string | undefined {
  if (value === "") return required ? `${name} is required` : undefined;
  if ([...value].length > maxCodePoints) return `${name} is longer than ${maxCodePoints} characters`;
  // Documented for the id ("no control characters"); enforced on every text field.
  if (CONTROL.test(value)) return `${name} holds a control character`;
  if (EDGE_SPACE.test(value)) return `${name} starts or ends with white space`;
  // Only JSON bodies can carry a lone surrogate; the server refuses them in every text field.
  if (!value.isWellFormed()) return `${name} is not valid Unicode`;
  return undefined;
}

function jsonDepth(value: JsonValue): number {
  if (typeof value !== "object" || value === null) return 0;
  const children: JsonValue[] = Array.isArray(value) ? value : Object.values(value);
  return 1 + children.reduce<number>((deepest, child) => Math.max(deepest, jsonDepth(child)), 0);
}

function allFinite(value: JsonValue): boolean {
  if (typeof value === "number") return Number.isFinite(value);
  if (typeof value !== "object" || value === null) return true;
  return (Array.isArray(value) ? value : Object.values(value)).every(allFinite);
}

/** Why a record (as the server decodes it) breaks a documented limit; undefined when it is valid. */
function violationOf(r: CostRecord, nowMs: number): string | undefined {
  const text =
    textViolation(r.id, "id", true, 128) ??
    (r.clusterId === "" || r.clusterId.length > 128 || !CLUSTER_PATTERN.test(r.clusterId) ? "cluster_id is not 1-128 of A-Z a-z 0-9 . _ : -" : undefined) ??
    textViolation(r.provider, "provider", true, 128) ??
    textViolation(r.operation, "operation", true, 128) ??
    textViolation(r.model, "model", false, 128) ??
    textViolation(r.traceId, "trace_id", false, 128);
  if (text) return text;
  const cost = r.cost;
  if (!cost) return "cost is required";
  if (!/^[A-Z]{3}$/.test(cost.currencyCode) || !KNOWN_CURRENCIES.has(cost.currencyCode)) return "cost.currency_code";
  if (cost.nanos < -999_999_999 || cost.nanos > 999_999_999) return "cost.nanos range";
  if ((cost.units > 0n && cost.nanos < 0) || (cost.units < 0n && cost.nanos > 0)) return "cost.nanos sign";
  const total = cost.units * 1_000_000_000n + BigInt(cost.nanos);
  if (total < 0n) return "cost negative";
  if (total > MAX_COST_NANOS) return "cost above 1e9 units";
  const ts = r.timestamp;
  if (!ts) return "timestamp is required";
  if (ts.seconds < -62_135_596_800n || ts.seconds > 253_402_300_799n || ts.nanos < 0 || ts.nanos > 999_999_999) return "timestamp out of Timestamp range";
  const ms = Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1_000_000);
  if (ms < MIN_TIMESTAMP_MS) return "timestamp before 2000-01-01";
  if (ms > nowMs + FUTURE_SKEW_MS) return "timestamp more than 5 minutes ahead";
  if (r.metadata !== undefined) {
    if (!allFinite(r.metadata)) return "metadata not representable as JSON";
    if (hasLoneSurrogate(r.metadata)) return "metadata holds a lone surrogate";
    if (jsonDepth(r.metadata) > 4) return "metadata nested deeper than 4";
    if (new TextEncoder().encode(JSON.stringify(r.metadata)).length > 4096) return "metadata above 4096 bytes";
    const fromMetadata = r.metadata["model"];
    if (r.model === "" && typeof fromMetadata === "string") return textViolation(fromMetadata, "metadata.model", false, 128);
  }
  return undefined;
}

/** JSON with sorted keys, so equal metadata compares equal. */
function canonical(value: JsonValue | undefined): string {
  if (value === undefined) return "";
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v)).join(",")}]`;
  return `{${Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
    .join(",")}}`;
}

const UTF8 = { encoder: new TextEncoder(), decoder: new TextDecoder() };
const utf8RoundTrip = (text: string): string => UTF8.decoder.decode(UTF8.encoder.encode(text));
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** JSON with every string and key as UTF-8 can carry it (lone surrogates become U+FFFD), as a binary export returns it. */
function wellFormed(value: JsonValue): JsonValue {
  if (typeof value === "string") return utf8RoundTrip(value);
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(wellFormed);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [utf8RoundTrip(k), wellFormed(v)]));
}

/** Whether metadata holds a lone surrogate in a key or a string (only JSON bodies can carry one). */
function hasLoneSurrogate(value: JsonValue | undefined): boolean {
  if (typeof value === "string") return LONE_SURROGATE.test(value);
  if (typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  return Object.entries(value).some(([k, v]) => LONE_SURROGATE.test(k) || hasLoneSurrogate(v));
}

/** A record as the oracle expects the store to hold it, as read back over a binary export. */
interface Kept {
  readonly id: string;
  readonly clusterId: string;
  readonly provider: string;
  readonly operation: string;
  readonly model: string;
  readonly currency: string;
  readonly nanos: string;
  readonly timestampMs: number;
  readonly traceId: string;
  readonly metadata: string;
}

function kept(r: CostRecord): Kept {
  const fromMetadata = r.metadata?.["model"];
  const ts = r.timestamp;
  return {
    id: r.id,
    clusterId: r.clusterId,
    provider: r.provider,
    operation: r.operation,
    model: r.model !== "" ? r.model : typeof fromMetadata === "string" ? fromMetadata : "",
    currency: r.cost?.currencyCode ?? "",
    nanos: ((r.cost?.units ?? 0n) * 1_000_000_000n + BigInt(r.cost?.nanos ?? 0)).toString(),
    timestampMs: ts ? Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1_000_000) : Number.NaN,
    traceId: r.traceId,
    metadata: canonical(r.metadata === undefined ? undefined : wellFormed(r.metadata)),
  };
}

const sameKept = (a: Kept, b: Kept): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The oracle's state: the records the server should hold, and the ids of the invalid ones sent. */
interface Ledger {
  readonly stored: Map<string, Kept>;
  readonly invalidIds: Set<string>;
}

const mayWrite = (credential: Credential, cluster: string): boolean => credential !== "limited" || cluster === LIMITED_CLUSTER;

/**
 * What a RecordCost or RecordCosts call should answer, and which records it commits.
 * The order follows the API: authentication, scope, then per message the record
 * count, each record's limits, and the key's clusters; a stream that fails keeps
 * the messages before the failing one.
 */
function simulateIngest(p: Planned, ledger: Ledger): { code: string; commits: CostRecord[]; accepted: number; duplicates: number; rejected: number[]; outcome?: RecordOutcome } {
  const none = { commits: [], accepted: 0, duplicates: 0, rejected: [] };
  if (p.credential === "none" || p.credential === "bad") return { code: "UNAUTHENTICATED", ...none };
  const decoded = p.decoded;
  if (!decoded) return { code: "UNDECODABLE", ...none };
  if (p.rpc === "RecordCost") {
    const [record] = decoded.messages[0] ?? [];
    if (decoded.failsAfter || decoded.messages.length !== 1) return { code: "UNDECODABLE", ...none };
    if (!record) return { code: "INVALID_ARGUMENT", ...none };
    if (violationOf(record, NOW)) return { code: "INVALID_ARGUMENT", ...none };
    if (!mayWrite(p.credential, record.clusterId)) return { code: "PERMISSION_DENIED", ...none };
    const before = ledger.stored.get(record.id);
    if (before) return sameKept(before, kept(record)) ? { code: "OK", ...none, duplicates: 1, outcome: RecordOutcome.DUPLICATE } : { code: "ALREADY_EXISTS", ...none };
    return { code: "OK", commits: [record], accepted: 1, duplicates: 0, rejected: [], outcome: RecordOutcome.ACCEPTED };
  }
  const commits: CostRecord[] = [];
  const rejected: number[] = [];
  let accepted = 0;
  let duplicates = 0;
  let index = 0;
  for (const records of decoded.messages) {
    if (records.length > 5_000) return { code: "INVALID_ARGUMENT", commits, accepted, duplicates, rejected };
    const pending: CostRecord[] = [];
    for (const [i, record] of records.entries()) {
      if (violationOf(record, NOW)) rejected.push(index + i);
      else if (!mayWrite(p.credential, record.clusterId)) return { code: "PERMISSION_DENIED", commits, accepted, duplicates, rejected };
      else pending.push(record);
    }
    for (const record of pending) {
      const before = ledger.stored.get(record.id) ?? commits.map(kept).find((k) => k.id === record.id);
      if (!before) {
        commits.push(record);
        accepted++;
      } else if (sameKept(before, kept(record))) duplicates++;
      else rejected.push(index + records.indexOf(record));
    }
    index += records.length;
  }
  if (decoded.failsAfter) return { code: "UNDECODABLE", commits, accepted, duplicates, rejected };
  return { code: "OK", commits, accepted, duplicates, rejected: rejected.sort((a, b) => a - b) };
}

// ---------------------------------------------------------------------------
// What the server decodes from an ingest body.

/** What the server will decode from an ingest body, framed as the wire frames it. */
function decodeIngest(rpc: "RecordCost" | "RecordCosts", wire: Wire, body: Uint8Array): Decoded | undefined {
  const json = wire === "connect-json";
  const recordsOf = (m: Message): CostRecord[] => {
    const fields = m as unknown as { record?: CostRecord; records?: CostRecord[] };
    return rpc === "RecordCosts" ? (fields.records ?? []) : fields.record ? [fields.record] : [];
  };
  const schema = RPC_METHODS[rpc].input;
  if (!isEnveloped(wire, rpc)) {
    const message = decodeMessage(schema, body, json);
    return message ? { messages: [recordsOf(message)], failsAfter: false } : undefined;
  }
  const { frames, used } = readEnvelopes(body);
  const messages: CostRecord[][] = [];
  for (const frame of frames) {
    const message = frame.flags === 0 && frame.data.length <= MAX_BYTES ? decodeMessage(schema, frame.data, json) : undefined;
    if (!message) return messages.length === 0 ? undefined : { messages, failsAfter: true };
    messages.push(recordsOf(message));
  }
  if (used !== body.length) return messages.length === 0 ? undefined : { messages, failsAfter: true };
  if (rpc === "RecordCost" && messages.length !== 1) return undefined;
  return { messages, failsAfter: false };
}

// ---------------------------------------------------------------------------
// Request plans.

function pickCredential(rng: SeededRandom): Credential {
  const roll = rng.next();
  return roll < 0.8 ? "admin" : roll < 0.86 ? "admin-x-api-key" : roll < 0.93 ? "limited" : roll < 0.965 ? "none" : "bad";
}

/** What the request gate decides from the credential alone, if anything. */
function gateOutcome(credential: Credential, rpc: RpcName): string | undefined {
  if (credential === "none" || credential === "bad") return "UNAUTHENTICATED";
  if (credential === "limited" && !LIMITED_SCOPES.includes(RPC_SCOPES[rpc])) return "PERMISSION_DENIED";
  return undefined;
}

const UNKNOWN_PATHS = [`${SERVICE_PATH}Nope`, `${SERVICE_PATH}recordCost`, "/dreamnet.cost.v1.CostServic/RecordCost", "/grpc.health.v1.Health/Nope", `${SERVICE_PATH}`];

/** The main phase's requests, all decided up front from the seed. */
function planMain(rng: SeededRandom, alertIds: readonly string[]): Planned[] {
  const plans: Planned[] = [];
  for (let n = 0; n < MAIN_REQUESTS; n++) {
    const roll = rng.next();
    const credential = pickCredential(rng);
    const tag = `${n}`;
    if (roll < 0.72) {
      const rpc: RpcName = roll < 0.33 ? "RecordCost" : roll < 0.41 ? "RecordCosts" : rng.pick(OTHER_RPCS);
      let wire: Wire = rng.pick<Wire>(["grpc", "grpc", "connect-proto", "connect-json"]);
      const messages = rpc === "RecordCost" || rpc === "RecordCosts" ? ingestRequests(rpc, rng, { nowMs: NOW, alertIds, tag }) : [otherRequest(rpc, rng, { nowMs: NOW, alertIds, tag })];
      let body: Uint8Array;
      try {
        body = encodeBody(rpc, wire, messages);
      } catch {
        // protobuf JSON cannot carry NaN or Infinity: send those in binary.
        wire = "connect-proto";
        body = encodeBody(rpc, wire, messages);
      }
      plans.push(plannedCall(n, rpc, "message", wire, credential, body));
    } else if (roll < 0.88) {
      const rpc = rng.chance(0.1) ? "unknown" : rng.pick(RPC_NAMES);
      const wire = rng.pick<Wire>(["grpc", "connect-proto"]);
      const payloads = Array.from({ length: rng.int(1, 3) }, () => randomBytes(rng, 64));
      const body =
        isEnveloped(wire, rpc) && rng.chance(0.7)
          ? concatBytes(payloads.map((p) => envelope(p, rng.chance(0.05) ? rng.int(1, 255) : 0)))
          : (payloads[0] ?? new Uint8Array(0));
      plans.push(plannedCall(n, rpc, "random-bytes", wire, credential, body, rpc === "unknown" ? rng.pick(UNKNOWN_PATHS) : undefined));
    } else {
      const rpc = rng.chance(0.05) ? "unknown" : rng.pick(RPC_NAMES);
      const names = rpc === "unknown" ? [] : RPC_METHODS[rpc].input.fields.map((f) => f.jsonName);
      const json = (): string => {
        if (rpc === "RecordCost" && rng.chance(0.5)) {
          // A valid record with one or two fields replaced by random JSON.
          const record = JSON.parse(toJsonString(CostRecordSchema, fuzzRecord(rng, `${tag}j`, NOW, 0).record)) as JsonObject;
          for (let i = rng.int(1, 2); i > 0; i--) record[rng.pick(CostRecordSchema.fields.map((f) => f.jsonName))] = randomJson(rng, 2, ["currencyCode", "units", "nanos", "seconds"]);
          return JSON.stringify({ record });
        }
        const text = JSON.stringify(randomJson(rng, 3, names));
        return rng.chance(0.1) ? text.slice(0, Math.max(0, text.length - rng.int(1, 5))) : text;
      };
      const parts = Array.from({ length: rpc !== "unknown" && RPC_METHODS[rpc].kind === "client" ? rng.int(1, 2) : 1 }, () => new TextEncoder().encode(json()));
      const body = isEnveloped("connect-json", rpc) ? concatBytes(parts.map((p) => envelope(p))) : (parts[0] ?? new Uint8Array(0));
      plans.push(plannedCall(n, rpc, "random-json", "connect-json", credential, body, rpc === "unknown" ? rng.pick(UNKNOWN_PATHS) : undefined));
    }
  }
  return plans;
}

/** Whether a message of the body is larger than the 4 MiB the server reads. */
function exceedsSizeLimit(wire: Wire, rpc: RpcName, body: Uint8Array): boolean {
  return isEnveloped(wire, rpc) ? readEnvelopes(body).frames.some((frame) => frame.data.length > MAX_BYTES) : body.length > MAX_BYTES;
}

function plannedCall(n: number, rpc: RpcName | "unknown", kind: Kind, wire: Wire, credential: Credential, body: Uint8Array, unknownPath?: string, outcome?: RecordOutcome): Planned {
  const base = { n, rpc, kind, wire, credential, body, firstMessageOnly: rpc === "WatchAlerts", ...(outcome !== undefined ? { outcome } : {}) };
  if (rpc === "unknown") return { ...base, path: unknownPath ?? `${SERVICE_PATH}Nope`, expect: { kind: "exact", code: "UNIMPLEMENTED" } };
  const path = SERVICE_PATH + rpc;
  const gate = gateOutcome(credential, rpc);
  if (gate) return { ...base, path, expect: { kind: "exact", code: gate } };
  if (exceedsSizeLimit(wire, rpc, body)) return { ...base, path, expect: { kind: "exact", code: "RESOURCE_EXHAUSTED" } };
  if (rpc === "RecordCost" || rpc === "RecordCosts") {
    const decoded = decodeIngest(rpc, wire, body);
    return { ...base, path, expect: { kind: "ingest" }, ...(decoded ? { decoded } : {}) };
  }
  if (kind === "message") return { ...base, path, expect: { kind: "any" } };
  const schema = RPC_METHODS[rpc].input;
  const json = wire === "connect-json";
  const decodable = isEnveloped(wire, rpc)
    ? (() => {
        const { frames, used } = readEnvelopes(body);
        return used === body.length && frames.every((f) => f.flags === 0 && decodeMessage(schema, f.data, json) !== undefined) && (RPC_METHODS[rpc].kind === "client" || frames.length === 1);
      })()
    : decodeMessage(schema, body, json) !== undefined;
  return { ...base, path, expect: decodable ? { kind: "any" } : { kind: "undecodable" } };
}

// ---------------------------------------------------------------------------
// Sending.

interface Sender {
  send(p: Planned): Promise<Answered>;
  close(): void;
}

function createSender(env: SecurityServer): Sender {
  let session: http2.ClientHttp2Session | undefined;
  const sessionFor = (): http2.ClientHttp2Session => {
    if (!session || session.closed || session.destroyed) {
      session = http2.connect(env.url);
      session.on("error", () => {
        // a broken session is replaced on the next call; the call on it reports a transport error
      });
    }
    return session;
  };
  const headersFor = (credential: Credential): Record<string, string> => {
    switch (credential) {
      case "admin":
        return { authorization: `Bearer ${env.key("admin")}` };
      case "admin-x-api-key":
        return { "x-api-key": env.key("admin") };
      case "limited":
        return { authorization: `Bearer ${env.key("limited")}` };
      case "bad":
        return { authorization: `Bearer admin.${"0".repeat(43)}` };
      case "none":
        return {};
    }
  };
  return {
    async send(p) {
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
      const started = performance.now();
      const request = { path: p.path, body: p.body, headers: headersFor(p.credential), firstMessageOnly: p.firstMessageOnly };
      let answer: RawAnswer;
      try {
        if (p.wire === "grpc") answer = await grpcCall(sessionFor(), request, abort.signal);
        else {
          const json = p.wire === "connect-json";
          const streaming = p.rpc !== "unknown" && RPC_METHODS[p.rpc].kind !== "unary";
          answer = streaming ? await connectStream(env.url, { ...request, json }, abort.signal) : await connectUnary(env.url, { ...request, json }, abort.signal);
        }
      } catch (error) {
        answer = { code: abort.signal.aborted ? "TIMEOUT" : `TRANSPORT:${error instanceof Error ? error.message : String(error)}`, message: "", payloads: [] };
      } finally {
        clearTimeout(timer);
      }
      if (abort.signal.aborted && answer.code.startsWith("TRANSPORT")) answer = { ...answer, code: "TIMEOUT" };
      return { planned: p, answer, ms: performance.now() - started };
    },
    close() {
      session?.close();
    },
  };
}

async function runAll(env: SecurityServer, plans: readonly Planned[], onAnswer: (a: Answered) => void): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    const sender = createSender(env);
    try {
      while (next < plans.length) {
        const plan = plans[next++] as Planned;
        onAnswer(await sender.send(plan));
      }
    } finally {
      sender.close();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

// ---------------------------------------------------------------------------
// Checking answers against the oracle.

interface Tally {
  sent: number;
  byCode: Map<string, number>;
  byRpc: Map<string, number>;
  /** "<rpc> <kind> <wire>" combinations sent. */
  byRpcKind: Set<string>;
  /** Invalid records sent, by the first limit each breaks. */
  byRule: Map<string, number>;
  crashes: string[];
  unexpected: string[];
  binaryParseInternal: string[];
  /** INTERNAL for a frame flagged compressed without an encoding: what the gRPC spec prescribes. */
  compressedFlagInternal: string[];
  /** Records accepted with a lone surrogate in their metadata (sent as JSON; see the BUG test). */
  loneSurrogateMetadata: number;
  /** UNIMPLEMENTED for a unary or server-streaming call without any request message (connect-es's choice). */
  missingMessageUnimplemented: string[];
  mismatches: string[];
  slowestMs: number;
  acceptedRecords: number;
  rejectedRecords: number;
}

/** Answers to malformed bodies that are tallied apart rather than counted as unexpected. */
function malformedBodyAnswer(answer: RawAnswer): "parse-binary" | "compressed-flag" | "missing-message" | undefined {
  if (answer.code === "INTERNAL" && answer.message.startsWith("parse binary")) return "parse-binary";
  if (answer.code === "INTERNAL" && answer.message.includes("received compressed envelope")) return "compressed-flag";
  if (answer.code === "UNIMPLEMENTED" && answer.message.startsWith("protocol error: missing input message")) return "missing-message";
  return undefined;
}

/** Whether an answer fits a body the server cannot decode. */
function undecodableAnswer(answer: RawAnswer): boolean {
  return answer.code === "INVALID_ARGUMENT" || answer.code === "RESOURCE_EXHAUSTED" || malformedBodyAnswer(answer) !== undefined;
}

function describePlan(p: Planned): string {
  return `#${p.n} ${p.rpc} ${p.kind} ${p.wire} ${p.credential}`;
}

function payloadAs<T extends Message>(schema: DescMessage, answer: RawAnswer, json: boolean): T | undefined {
  const bytes = answer.payloads[0];
  return bytes ? (decodeMessage(schema, bytes, json) as T | undefined) : undefined;
}

function check(a: Answered, ledger: Ledger, tally: Tally): void {
  const { planned: p, answer } = a;
  tally.sent++;
  tally.byCode.set(answer.code, (tally.byCode.get(answer.code) ?? 0) + 1);
  tally.byRpc.set(p.rpc, (tally.byRpc.get(p.rpc) ?? 0) + 1);
  tally.byRpcKind.add(`${p.rpc} ${p.kind} ${p.wire}`);
  tally.slowestMs = Math.max(tally.slowestMs, a.ms);
  const what = `${describePlan(p)} -> ${answer.code} ${answer.message.slice(0, 160)}`;
  if (answer.code === "TIMEOUT" || answer.code.startsWith("TRANSPORT")) {
    tally.crashes.push(what);
    return;
  }
  const malformed = malformedBodyAnswer(answer);
  if (malformed === "parse-binary") tally.binaryParseInternal.push(what);
  else if (malformed === "compressed-flag") tally.compressedFlagInternal.push(what);
  else if (malformed === "missing-message") tally.missingMessageUnimplemented.push(what);
  else if (!ALLOWED.has(answer.code)) tally.unexpected.push(what);

  const expect = p.expect;
  if (expect.kind === "exact" && answer.code !== expect.code) tally.mismatches.push(`${what} (expected ${expect.code})`);
  if (expect.kind === "undecodable" && !undecodableAnswer(answer)) tally.mismatches.push(`${what} (expected INVALID_ARGUMENT for an undecodable body)`);
  if (expect.kind !== "ingest") return;

  const sim = simulateIngest(p, ledger);
  const codeOk = sim.code === "UNDECODABLE" ? undecodableAnswer(answer) : answer.code === sim.code;
  if (!codeOk) tally.mismatches.push(`${what} (oracle: ${sim.code})`);
  // The store holds what the server committed: follow the oracle when the answers agree,
  // and the answer when they do not (the comparison at the end then shows the difference).
  const commits = codeOk ? sim.commits : [];
  for (const record of commits) {
    ledger.stored.set(record.id, kept(record));
    if (hasLoneSurrogate(record.metadata)) tally.loneSurrogateMetadata++;
  }
  for (const records of p.decoded?.messages ?? []) {
    for (const record of records) {
      const rule = violationOf(record, NOW);
      if (rule === undefined) continue;
      ledger.invalidIds.add(record.id);
      tally.byRule.set(rule, (tally.byRule.get(rule) ?? 0) + 1);
    }
  }
  if (codeOk) {
    tally.acceptedRecords += sim.accepted;
    tally.rejectedRecords += sim.rejected.length;
  }
  if (answer.code !== "OK" || !codeOk) return;
  const json = p.wire === "connect-json";
  if (p.rpc === "RecordCost") {
    const response = payloadAs<{ outcome: RecordOutcome } & Message>(RecordCostResponseSchema, answer, json);
    if (response?.outcome !== sim.outcome) tally.mismatches.push(`${what} (outcome ${response?.outcome} , oracle ${sim.outcome})`);
    if (p.outcome !== undefined && response?.outcome !== p.outcome) tally.mismatches.push(`${what} (resend outcome ${response?.outcome}, wanted ${p.outcome})`);
  } else {
    const response = payloadAs<{ acceptedCount: bigint; duplicateCount: bigint; rejectedCount: bigint; rejected: { index: bigint }[] } & Message>(RecordCostsResponseSchema, answer, json);
    const got = response && {
      accepted: Number(response.acceptedCount),
      duplicates: Number(response.duplicateCount),
      rejected: Number(response.rejectedCount),
      listed: response.rejected.map((r) => Number(r.index)),
    };
    const want = { accepted: sim.accepted, duplicates: sim.duplicates, rejected: sim.rejected.length, listed: sim.rejected.slice(0, 100) };
    if (JSON.stringify(got) !== JSON.stringify(want)) tally.mismatches.push(`${what} (response ${JSON.stringify(got)}, oracle ${JSON.stringify(want)})`);
  }
}

// ---------------------------------------------------------------------------

describe("fuzzing every CostService RPC over real sockets", () => {
  let env: SecurityServer;
  let admin: CostClient;
  const ledger: Ledger = { stored: new Map(), invalidIds: new Set() };
  const tally: Tally = {
    sent: 0,
    byCode: new Map(),
    byRpc: new Map(),
    byRpcKind: new Set(),
    byRule: new Map(),
    crashes: [],
    unexpected: [],
    binaryParseInternal: [],
    compressedFlagInternal: [],
    missingMessageUnimplemented: [],
    loneSurrogateMetadata: 0,
    mismatches: [],
    slowestMs: 0,
    acceptedRecords: 0,
    rejectedRecords: 0,
  };
  let healthAtEnd = "";
  let exported: CostRecord[] = [];

  beforeAll(async () => {
    const started = performance.now();
    env = await startSecurityServer({
      nowMs: NOW,
      // Watchers answer within a tenth of a second even on a quiet feed.
      feed: { heartbeatMs: 100 },
      keys: [
        { id: "admin", scopes: ["admin"] },
        { id: "limited", scopes: [...LIMITED_SCOPES], clusters: [LIMITED_CLUSTER] },
      ],
    });
    admin = env.client({ key: env.key("admin") });
    const rng = createSeededRandom(SEED);

    // Spend and small budgets in each cluster, so alerts exist to list, watch and acknowledge.
    const seed = Array.from({ length: 30 }, (_, i) => fuzzRecord(rng, `seed${i}`, NOW, 0).record);
    const seeded = await admin.recordCosts((async function* () { yield { records: seed }; })());
    expect(seeded.acceptedCount).toBe(BigInt(seed.length));
    for (const record of seed) ledger.stored.set(record.id, kept(record));
    for (const [i, clusterId] of ["FZ_A", "FZ_B", "FZ_C"].entries()) {
      await admin.setBudget({
        budget: create(CostBudgetSchema, { id: BUDGET_IDS[i], clusterId, amount: create(MoneySchema, { currencyCode: "USD", nanos: 1_000 }), period: BudgetPeriod.MONTHLY, alertThresholds: [10, 50, 90] }),
      });
    }
    const alertIds = (await admin.listAlerts({ state: AlertState.ALL, pageSize: 500 })).alerts.map((a) => a.id);
    expect(alertIds.length).toBeGreaterThan(0);

    // Phase 1: the main mix, concurrently.
    const plans = planMain(rng, alertIds);
    await runAll(env, plans, (a) => check(a, ledger, tally));

    // Phase 2: records sent again, each id once: the same content (also with
    // sub-millisecond timestamp digits changed) is a duplicate, other content a conflict.
    const storedIds = [...ledger.stored.keys()].filter((id) => !id.startsWith("fz-seed")).sort();
    const resends: Planned[] = [];
    for (let i = 0; i < 400 && storedIds.length > 0; i++) {
      const id = storedIds.splice(rng.int(0, storedIds.length - 1), 1)[0] as string;
      const k = ledger.stored.get(id) as Kept;
      const variant = rng.pick(["same", "same", "sub-ms", "cost", "provider"] as const);
      const units = BigInt(k.nanos) / 1_000_000_000n;
      const record = create(CostRecordSchema, {
        id: k.id,
        clusterId: k.clusterId,
        provider: variant === "provider" ? `${k.provider}-changed` : k.provider,
        operation: k.operation,
        model: k.model,
        cost: create(MoneySchema, { currencyCode: k.currency, units, nanos: Number(BigInt(k.nanos) - units * 1_000_000_000n) + (variant === "cost" ? (BigInt(k.nanos) % 1_000_000_000n === 999_999_999n ? -1 : 1) : 0) }),
        timestamp: timestampAt(k.timestampMs, variant === "sub-ms" ? 123_456 : 0),
        traceId: k.traceId,
        ...(k.metadata ? { metadata: JSON.parse(k.metadata) as JsonObject } : {}),
      });
      const wire = rng.pick<Wire>(["grpc", "connect-proto", "connect-json"]);
      const same = variant === "same" || variant === "sub-ms";
      resends.push(plannedCall(MAIN_REQUESTS + i, "RecordCost", "resend", wire, "admin", encodeBody("RecordCost", wire, [create(RecordCostRequestSchema, { record })]), undefined, same ? RecordOutcome.DUPLICATE : undefined));
    }
    await runAll(env, resends, (a) => check(a, ledger, tally));

    // Phase 3: payloads above the 4 MiB limit (and one exactly at it), one at a time.
    const huge = "x".repeat(MAX_BYTES + 1_000);
    const bigRecord = create(CostRecordSchema, { ...fuzzRecord(rng, "huge", NOW, 0).record, traceId: huge });
    const exactlyMax = (() => {
      // A GetCostSummaryRequest of exactly 4 MiB: tag, 4-byte length, cluster id.
      const message = create(GetCostSummaryRequestSchema, { clusterId: "c".repeat(MAX_BYTES - 5) });
      return toBinary(GetCostSummaryRequestSchema, message);
    })();
    expect(exactlyMax.length).toBe(MAX_BYTES);
    const oversized: Planned[] = [
      ...(["grpc", "connect-proto", "connect-json"] as const).map((wire, i) =>
        plannedCall(MAIN_REQUESTS + 1_000 + i, "RecordCost", "oversized", wire, "admin", encodeBody("RecordCost", wire, [create(RecordCostRequestSchema, { record: bigRecord })])),
      ),
      ...(["grpc", "connect-proto"] as const).map((wire, i) =>
        plannedCall(MAIN_REQUESTS + 1_010 + i, "RecordCosts", "oversized", wire, "admin", encodeBody("RecordCosts", wire, [create(RecordCostsRequestSchema, { records: [bigRecord] })])),
      ),
      plannedCall(MAIN_REQUESTS + 1_020, "GetCostSummary", "oversized", "grpc", "admin", envelope(concatBytes([exactlyMax, new Uint8Array([0x78])]))),
      plannedCall(MAIN_REQUESTS + 1_021, "SetBudget", "oversized", "connect-proto", "admin", toBinary(SetBudgetRequestSchema, create(SetBudgetRequestSchema, { budget: { id: huge } }))),
      plannedCall(MAIN_REQUESTS + 1_022, "RecordCost", "oversized", "connect-proto", "none", encodeBody("RecordCost", "connect-proto", [create(RecordCostRequestSchema, { record: bigRecord })])),
      { ...plannedCall(MAIN_REQUESTS + 1_023, "GetCostSummary", "oversized", "grpc", "admin", envelope(exactlyMax)), expect: { kind: "exact", code: "INVALID_ARGUMENT" } },
    ];
    for (const plan of oversized) {
      const sender = createSender(env);
      try {
        check(await sender.send(plan), ledger, tally);
      } finally {
        sender.close();
      }
    }

    await env.core.ingest.drain();
    const probe = createGrpcJsProbe(env.url);
    try {
      healthAtEnd = await probe.healthCheck("");
    } finally {
      probe.close();
    }
    // Both ends given: an unset start_time is not "the beginning" once end_time is set (see the BUG below).
    exported = await exportAll(admin, { startTime: timestampAt(MIN_TIMESTAMP_MS), endTime: timestampAt(NOW + FUTURE_SKEW_MS + 1), pageSize: 5_000 });
    const stray = exported.filter((r) => !ledger.stored.has(r.id)).length;
    console.log(
      [
        `fuzz summary (seed ${SEED.toString(16)}, ${((performance.now() - started) / 1000).toFixed(1)} s, concurrency ${CONCURRENCY}, slowest request ${tally.slowestMs.toFixed(0)} ms)`,
        `  requests sent: ${tally.sent}`,
        `  per RPC: ${[...tally.byRpc].sort().map(([k, v]) => `${k} ${v}`).join(", ")}`,
        `  per code: ${[...tally.byCode].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(", ")}`,
        `  records: ${tally.acceptedRecords} accepted and ${tally.rejectedRecords} rejected as the oracle said; ${ledger.stored.size} expected in the store, ${exported.length} exported`,
        `  invalid records sent, by rule: ${[...tally.byRule].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(", ")}`,
        `  crashes/hangs: ${tally.crashes.length}, stray records: ${stray}, oracle mismatches: ${tally.mismatches.length}, unexpected codes: ${tally.unexpected.length}`,
        `  malformed bodies: INTERNAL "parse binary" (must be 0) ${tally.binaryParseInternal.length}, INTERNAL compressed flag without encoding ${tally.compressedFlagInternal.length}, UNIMPLEMENTED missing request message ${tally.missingMessageUnimplemented.length}`,
        `  records accepted with a lone surrogate in metadata (must be 0): ${tally.loneSurrogateMetadata}`,
        `  health at the end: ${healthAtEnd}`,
      ].join("\n"),
    );
  }, 180_000);

  afterAll(async () => {
    await env?.close();
  });

  it("sends at least 10,000 requests, covering every RPC with every kind of input", () => {
    expect(tally.sent).toBeGreaterThanOrEqual(10_000);
    for (const rpc of RPC_NAMES) expect(tally.byRpc.get(rpc) ?? 0, rpc).toBeGreaterThan(150);
    const missing = RPC_NAMES.flatMap((rpc) =>
      ["message grpc", "message connect-proto", "message connect-json", "random-bytes grpc", "random-bytes connect-proto", "random-json connect-json"]
        .map((what) => `${rpc} ${what}`)
        .filter((combination) => !tally.byRpcKind.has(combination)),
    );
    expect(missing).toEqual([]);
    expect(tally.byRpc.get("unknown") ?? 0).toBeGreaterThan(50);
  });

  it("never crashes or hangs: every request answers within its timeout and health still answers SERVING", () => {
    expect(tally.crashes.slice(0, 10)).toEqual([]);
    expect(healthAtEnd).toBe("SERVING");
  });

  it("answers only expected codes: never UNKNOWN, INTERNAL only for malformed frames (tallied apart, see the BUG below)", () => {
    expect(tally.unexpected.slice(0, 10)).toEqual([]);
  });

  it("answers what the oracle expects: authentication, scope, unknown paths, size limits and every ingest outcome", () => {
    expect(tally.mismatches.slice(0, 10)).toEqual([]);
  });

  it("stores exactly the valid records the server acknowledged, with their content, and none of the invalid ones", () => {
    const exportedById = new Map(exported.map((r) => [r.id, r]));
    const stray = exported.filter((r) => !ledger.stored.has(r.id)).map((r) => r.id);
    const missing = [...ledger.stored.keys()].filter((id) => !exportedById.has(id));
    const invalidPresent = [...ledger.invalidIds].filter((id) => exportedById.has(id) && !ledger.stored.has(id));
    expect({ stray: stray.slice(0, 10), missing: missing.slice(0, 10), invalidPresent: invalidPresent.slice(0, 10) }).toEqual({ stray: [], missing: [], invalidPresent: [] });
    expect(exported.length).toBe(ledger.stored.size);
    const differing = exported.filter((r) => !sameKept(kept(r), ledger.stored.get(r.id) as Kept)).map((r) => ({ got: kept(r), want: ledger.stored.get(r.id) }));
    expect(differing.slice(0, 3)).toEqual([]);
    expect(ledger.stored.size).toBeGreaterThan(3_000);
    expect(ledger.invalidIds.size).toBeGreaterThan(1_000);
  });

  // Regression: connect-es answers undecodable protobuf bodies with INTERNAL; the server rewrites them to INVALID_ARGUMENT.
  it("answers INVALID_ARGUMENT, never INTERNAL, to protobuf bodies it cannot decode", () => {
    expect(tally.binaryParseInternal.slice(0, 5)).toEqual([]);
  });
});

describe("what the fuzz found, pinned down one case at a time", () => {
  let env: SecurityServer;
  let admin: CostClient;
  const edge = create(CostRecordSchema, {
    id: "at-2000-01-01",
    clusterId: "EDGE",
    provider: "openai",
    operation: "chat",
    cost: create(MoneySchema, { currencyCode: "USD", nanos: 1_000 }),
    timestamp: timestampAt(MIN_TIMESTAMP_MS),
  });

  beforeAll(async () => {
    env = await startSecurityServer({ nowMs: NOW, keys: [{ id: "admin", scopes: ["admin"] }] });
    admin = env.client({ key: env.key("admin") });
    expect((await admin.recordCost({ record: edge })).outcome).toBe(RecordOutcome.ACCEPTED);
  });

  afterAll(async () => {
    await env?.close();
  });

  it("exports a record at 2000-01-01T00:00:00Z with no range, or with start_time given", async () => {
    expect((await exportAll(admin, {})).map((r) => r.id)).toEqual([edge.id]);
    expect((await exportAll(admin, { startTime: timestampAt(MIN_TIMESTAMP_MS), endTime: timestampAt(NOW + 86_400_000) })).map((r) => r.id)).toEqual([edge.id]);
  });

  // Regression: an unset start_time was end_time minus a fixed length, not the beginning.
  it("exports a record at 2000-01-01T00:00:00Z when only end_time is given (start unset means the beginning)", async () => {
    expect((await exportAll(admin, { endTime: timestampAt(NOW + 86_400_000) })).map((r) => r.id)).toEqual([edge.id]);
  });

  // Regression: lone surrogates in JSON metadata were accepted and came back as U+FFFD.
  it("refuses, or exports unchanged, metadata with a lone surrogate sent as JSON", async () => {
    const body = JSON.stringify({
      record: { id: "lone-surrogate", clusterId: "EDGE", provider: "p", operation: "o", cost: { currencyCode: "USD", nanos: 5 }, timestamp: "2026-06-15T11:00:00Z", metadata: { note: "x\uD800y" } },
    });
    const response = await fetch(`${env.url}${SERVICE_PATH}RecordCost`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${env.key("admin")}` }, body });
    if (response.status === 400) return; // refused: what the fix does
    expect(response.status).toBe(200);
    const [stored] = await exportAll(admin, { clusterId: "EDGE", startTime: timestampAt(NOW - 86_400_000) });
    expect(stored?.metadata).toEqual({ note: "x\uD800y" });
  });
});
