import { create, type JsonObject, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import { CostRecordSchema, type CostRecord } from "../../gen/dreamnet/cost/v1/cost_record_pb.js";
import { MoneySchema, type Money } from "../../gen/dreamnet/cost/v1/money_pb.js";
import type { SeededRandom } from "./seeded-random.js";

/**
 * Inputs for the fuzz suite: odd strings, boundary numbers and timestamps, and
 * records that are valid unless a mutation made them otherwise. Generated from a
 * seeded PRNG so every run sends the same requests.
 */

export const INT64_MAX = 9_223_372_036_854_775_807n;
export const INT64_MIN = -9_223_372_036_854_775_808n;
export const INT32_MAX = 2_147_483_647;
export const INT32_MIN = -2_147_483_648;
const DAY_MS = 86_400_000;

/** A Timestamp of epoch ms plus sub-millisecond nanos (which the server drops). */
export function timestampAt(ms: number, subMillisecondNanos = 0): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return create(TimestampSchema, { seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 + subMillisecondNanos });
}

/** A Timestamp with raw parts, for values outside what an instant can be. */
export function rawTimestamp(seconds: bigint, nanos: number): Timestamp {
  return create(TimestampSchema, { seconds, nanos });
}

/** `tag` followed by filler up to exactly `n` UTF-16 units. */
function padded(tag: string, n: number, filler = "x"): string {
  return tag + filler.repeat(Math.max(0, n - tag.length));
}

/** `tag` followed by emoji up to exactly `n` code points (2 UTF-16 units each). */
function emojiPadded(tag: string, n: number): string {
  return tag + "\u{1F600}".repeat(Math.max(0, n - tag.length));
}

/**
 * Odd strings built around a tag; any of them that is a valid id stays unique as
 * long as the tag is. Lone surrogates, bidi marks, NUL and other controls, emoji,
 * combining marks, edge white space, exact length boundaries, 10,000 characters.
 */
const ODD_TEXT: readonly ((tag: string) => string)[] = [
  (t) => t,
  () => "",
  (t) => `\uD800${t}`,
  (t) => `${t}\uDFFF`,
  (t) => `\u200F${t}\u200E`,
  (t) => `\u202E${t}`,
  (t) => `${t}\u0000`,
  (t) => `${t}\u0007bell`,
  (t) => `${t}\u007F`,
  (t) => `${t}\u0085`,
  (t) => `\u{1F600}${t}\u{1F469}\u200D\u{1F469}\u200D\u{1F467}`,
  (t) => `e\u0301${t}`,
  (t) => ` ${t}`,
  (t) => `${t} `,
  (t) => `${t}\t`,
  (t) => `\u00A0${t}`,
  (t) => `\uFEFF${t}`,
  (t) => `${t}\u2028`,
  (t) => padded(t, 128),
  (t) => padded(t, 129),
  (t) => emojiPadded(t, 128),
  (t) => emojiPadded(t, 129),
  (t) => padded(t, 10_000),
  (t) => `${t}'; DROP TABLE records;--`,
  (t) => `../../${t}/etc/passwd`,
  (t) => `${t}%00%FF`,
  (t) => `\${jndi:ldap://x/${t}}`,
  (t) => `${t}\u4E2D\u6587`,
  (t) => `${t} \u0645\u0631\u062D\u0628\u0627`,
];

/** An odd string around `tag`. */
export function oddText(rng: SeededRandom, tag: string): string {
  return rng.pick(ODD_TEXT)(tag);
}

/** Cluster ids, valid and not (length 128/129, leading punctuation, spaces, controls, Unicode). */
export const CLUSTER_IDS: readonly string[] = [
  "FZ_A",
  "FZ_B",
  "FZ_C",
  "fz.c:1-x_y",
  "9lives",
  padded("FZ_LONG", 128),
  padded("FZ_LONG", 129),
  "-lead",
  ".lead",
  "_lead",
  "with space",
  "\u00DCNI",
  "a/b",
  "",
  "\u0000",
  "FZ_A\n",
  "\uD800",
  "\u{1F600}",
];

/** Valid and invalid currency codes. */
export const CURRENCIES: readonly string[] = ["USD", "EUR", "JPY", "GBP", "usd", "US", "USDD", "", "ZZZ", "ABC", "\u20AC\u20AC\u20AC", "U$D"];

/** Units at and around the limits, including the int64 extremes. */
export const UNITS: readonly bigint[] = [0n, 1n, 999_999_999n, 1_000_000_000n, 1_000_000_001n, -1n, INT64_MAX, INT64_MIN, 1_000_000_000_000n, 1_000_000_000_001n];

/** Nanos at and around the limits, including ±1e9 and the int32 extremes. */
export const NANOS: readonly number[] = [0, 1, -1, 999_999_999, -999_999_999, 1_000_000_000, -1_000_000_000, INT32_MAX, INT32_MIN];

/** Timestamps at every documented edge, relative to the server's clock. */
export function boundaryTimestamps(nowMs: number): readonly (Timestamp | undefined)[] {
  const min = Date.UTC(2000, 0, 1);
  const skew = nowMs + 5 * 60_000;
  return [
    undefined,
    timestampAt(min - 1),
    timestampAt(min),
    timestampAt(skew),
    timestampAt(skew, 999_999),
    timestampAt(skew + 1),
    timestampAt(skew - 1),
    timestampAt(0),
    rawTimestamp(253_402_300_799n, 999_999_999),
    rawTimestamp(253_402_300_800n, 0),
    rawTimestamp(-62_135_596_800n, 0),
    rawTimestamp(-62_135_596_801n, 0),
    rawTimestamp(INT64_MAX, 0),
    rawTimestamp(INT64_MIN, 0),
    rawTimestamp(BigInt(Math.floor(nowMs / 1000)), -1),
    rawTimestamp(BigInt(Math.floor(nowMs / 1000)), 1_000_000_000),
    rawTimestamp(BigInt(Math.floor(nowMs / 1000)), INT32_MAX),
    timestampAt(nowMs - 400 * DAY_MS),
  ];
}

/** JSON nested `levels` deep (a flat object is 1 level), objects and arrays mixed. */
export function nested(levels: number, rng: SeededRandom): JsonObject {
  let inner: JsonValue = rng.pick<JsonValue>([1, "leaf", true, null]);
  for (let i = 1; i < levels; i++) inner = rng.chance(0.3) ? [inner] : { [`l${levels - i}`]: inner };
  return { l0: inner };
}

/** A flat object whose JSON text is exactly `bytes` UTF-8 bytes long: {"k":"xxx..."}. */
export function metadataOfBytes(bytes: number, filler = "x"): JsonObject {
  const overhead = new TextEncoder().encode(JSON.stringify({ k: "" })).length;
  const unit = new TextEncoder().encode(filler).length;
  return { k: filler.repeat(Math.floor((bytes - overhead) / unit)) + "x".repeat((bytes - overhead) % unit) };
}

function money(currencyCode: string, units: bigint, nanos: number): Money {
  return create(MoneySchema, { currencyCode, units, nanos });
}

type RecordInit = MessageInitShape<typeof CostRecordSchema> & { metadata?: JsonObject | undefined };

/** What a fuzz record became: the message and the mutations applied to a valid one (for failure messages). */
export interface FuzzRecord {
  readonly record: CostRecord;
  readonly mutations: readonly string[];
}

const MUTATIONS: ReadonlyArray<[string, (r: RecordInit, rng: SeededRandom, tag: string, nowMs: number) => void]> = [
  ["id", (r, rng, tag) => void (r.id = oddText(rng, `fz-${tag}`))],
  ["id-empty", (r) => void (r.id = "")],
  ["cluster", (r, rng) => void (r.clusterId = rng.pick(CLUSTER_IDS))],
  ["provider", (r, rng) => void (r.provider = oddText(rng, "prov"))],
  ["operation", (r, rng) => void (r.operation = oddText(rng, "op"))],
  ["model", (r, rng) => void (r.model = oddText(rng, "model"))],
  ["trace", (r, rng, tag) => void (r.traceId = oddText(rng, `trace-${tag}`))],
  [
    "model-from-metadata",
    (r, rng) => {
      r.model = "";
      r.metadata = { model: rng.chance(0.5) ? oddText(rng, "meta-model") : rng.pick<JsonValue>([5, null, ["gpt"], "gpt-4o"]), tokens: 12 };
    },
  ],
  ["currency", (r, rng) => void (r.cost = money(rng.pick(CURRENCIES), 1n, 0))],
  ["units", (r, rng) => void (r.cost = money("USD", rng.pick(UNITS), rng.pick([0, 0, 1, 999_999_999])))],
  ["nanos", (r, rng) => void (r.cost = money("USD", rng.pick([0n, 0n, 1n, -1n]), rng.pick(NANOS)))],
  ["money-any", (r, rng) => void (r.cost = money(rng.pick(CURRENCIES), rng.pick(UNITS), rng.pick(NANOS)))],
  ["cost-missing", (r) => void (r.cost = undefined)],
  ["timestamp", (r, rng, _tag, nowMs) => void (r.timestamp = rng.pick(boundaryTimestamps(nowMs)))],
  ["metadata-depth", (r, rng) => void (r.metadata = nested(rng.pick([4, 4, 5, 6]), rng))],
  ["metadata-size", (r, rng) => void (r.metadata = metadataOfBytes(rng.pick([4_095, 4_096, 4_097, 10_000]), rng.pick(["x", "\u00E9", "\u{1F600}"])))],
  [
    "metadata-odd",
    (r, rng) =>
      void (r.metadata = {
        [rng.pick(["\u0000", "\u{1F600}", "", "\uD800", "a.b", "$where", "__proto__x"])]: rng.pick<JsonValue>([oddText(rng, "v"), 1e308, -0, 5e-324, 2 ** 53 + 1, [], {}]),
        tokens: rng.int(0, 1_000_000),
      }),
  ],
  ["metadata-nonfinite", (r, rng) => void (r.metadata = { tokens: rng.pick([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) })],
];

/**
 * A record that is valid (a fresh id built on `tag`, in the last 40 days) and then,
 * with probability `mutateChance`, changed by one to three mutations that may or
 * may not make it invalid.
 */
export function fuzzRecord(rng: SeededRandom, tag: string, nowMs: number, mutateChance = 0.55): FuzzRecord {
  const init: RecordInit = {
    id: `fz-${tag}`,
    clusterId: rng.pick(["FZ_A", "FZ_B", "FZ_C"]),
    provider: rng.pick(["openai", "anthropic", "cohere"]),
    operation: rng.pick(["chat", "embed"]),
    model: rng.pick(["gpt-4", "", "claude"]),
    cost: money(rng.pick(["USD", "EUR", "JPY"]), BigInt(rng.int(0, 2)), rng.int(0, 999_999_999)),
    timestamp: timestampAt(nowMs - rng.int(0, 40 * DAY_MS), rng.int(0, 999_999)),
    traceId: rng.chance(0.5) ? `trace-${tag}` : "",
  };
  if (rng.chance(0.4)) init.metadata = { tokens: rng.int(0, 100_000), tags: ["a", "b"], nested: { x: 1, y: [1, 2] } };
  const mutations: string[] = [];
  if (rng.chance(mutateChance)) {
    for (let i = rng.int(1, 3); i > 0; i--) {
      const [name, mutate] = rng.pick(MUTATIONS);
      mutate(init, rng, tag, nowMs);
      mutations.push(name);
    }
  }
  return { record: create(CostRecordSchema, init), mutations };
}

/** Random bytes. */
export function randomBytes(rng: SeededRandom, maxLength: number): Uint8Array {
  const out = new Uint8Array(rng.int(0, maxLength));
  for (let i = 0; i < out.length; i++) out[i] = rng.int(0, 255);
  return out;
}

const JSON_STRINGS: readonly string[] = [
  "2026-06-15T12:00:00Z",
  "2026-06-15T12:05:00.001Z",
  "0001-01-01T00:00:00Z",
  "9999-12-31T23:59:59Z",
  "not-a-date",
  "USD",
  "99",
  "1e9",
  "-1",
  "COST_DIMENSION_PROVIDER",
  "BOGUS_ENUM",
  "FZ_A",
];

/** A random JSON value: odd strings, boundary numbers, nesting, and the names of real fields. */
export function randomJson(rng: SeededRandom, depth: number, fieldNames: readonly string[]): JsonValue {
  const roll = rng.int(0, 9);
  if (depth <= 0 || roll < 3) {
    return rng.pick<JsonValue>([
      oddText(rng, "j"),
      rng.pick(JSON_STRINGS),
      rng.pick([0, -1, 1, 99, 1.5, -0, 1e9, 1e21, 2 ** 53 + 1, -(2 ** 63), 4_294_967_296]),
      rng.chance(0.5),
      null,
    ]);
  }
  if (roll < 5) return Array.from({ length: rng.int(0, 3) }, () => randomJson(rng, depth - 1, fieldNames));
  const out: JsonObject = {};
  for (let i = rng.int(0, 5); i > 0; i--) {
    const name = rng.chance(0.7) && fieldNames.length > 0 ? rng.pick(fieldNames) : oddText(rng, "k");
    out[name] = randomJson(rng, depth - 1, fieldNames);
  }
  return out;
}
