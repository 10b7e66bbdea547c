import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CallOptions, Client } from "@connectrpc/connect";
import type { CostService, RecordCostsRequestSchema, RecordCostsResponse } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { retryOptionsFrom, withRetries, type RetryOptions } from "./retry-policy.js";

/** One RecordCosts message as a caller writes it: `{ records: [...] }`. */
export type RecordCostsMessage = MessageInitShape<typeof RecordCostsRequestSchema>;

/**
 * The messages of a RecordCosts stream in a form that can be sent more than once:
 * an array, or a function that starts the sequence afresh on every call (e.g. one
 * that re-reads a file). A one-shot iterator cannot be retried, so it is not accepted.
 */
export type ReplayableMessages = readonly RecordCostsMessage[] | (() => AsyncIterable<RecordCostsMessage> | Iterable<RecordCostsMessage>);

/** Options of recordCostsWithRetry. */
export interface RecordCostsRetryOptions extends Omit<CallOptions, "signal"> {
  /** How to retry (defaults: DEFAULT_RETRY_OPTIONS). */
  readonly retry?: Partial<RetryOptions>;
  /** Cancels the call and any wait between attempts. */
  readonly signal?: AbortSignal;
}

/**
 * Sends a RecordCosts stream and, after UNAVAILABLE, RESOURCE_EXHAUSTED or
 * DEADLINE_EXCEEDED, sends the whole stream again. That is safe because record ids
 * are idempotency keys: records committed by a failed attempt come back as
 * duplicates and are counted once. The response is the last attempt's, so its
 * accepted_count leaves out records a failed attempt had already committed (they
 * are in duplicate_count); accepted + duplicate still covers every valid record.
 */
export async function recordCostsWithRetry(
  client: Pick<Client<typeof CostService>, "recordCosts">,
  messages: ReplayableMessages,
  options: RecordCostsRetryOptions = {},
): Promise<RecordCostsResponse> {
  const { retry, signal, ...callOptions } = options;
  const policy = retryOptionsFrom(retry);
  return withRetries("RecordCosts", policy, signal, (attemptSignal) => client.recordCosts(replay(messages), { ...callOptions, signal: attemptSignal }));
}

async function* replay(messages: ReplayableMessages): AsyncGenerator<RecordCostsMessage> {
  const source = typeof messages === "function" ? messages() : messages;
  for await (const message of source) yield message;
}
