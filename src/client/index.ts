/**
 * `cost-core/client`: a typed TypeScript client for Cost Core.
 *
 * ```ts
 * import { createCostClient, recordCostsWithRetry } from "cost-core/client";
 *
 * const client = createCostClient({ baseUrl: "http://127.0.0.1:8080", apiKey: process.env.COST_CORE_API_KEY, retry: {} });
 * await client.recordCost({ record: { id: "cost-123", clusterId: "API_KEEPER", ... } });
 * await recordCostsWithRetry(client, [{ records: batch1 }, { records: batch2 }]);
 * ```
 *
 * Retries are off unless `retry` is given. With it, the unary calls that are safe
 * to repeat (ingestion, reads, SetBudget, AcknowledgeAlert; see METHOD_RETRY_SAFETY)
 * are repeated after UNAVAILABLE, RESOURCE_EXHAUSTED or DEADLINE_EXCEEDED with
 * exponential backoff and jitter. DeleteBudget never is: a repeat after a lost
 * success would answer NOT_FOUND; nor is VerifyStore, a full recount. Streams are
 * not repeated by the client; use recordCostsWithRetry for RecordCosts.
 *
 * Whatever the retry settings, a connection that fails or breaks under a call is
 * reported as UNAVAILABLE, as gRPC's own clients do (connect-node alone reports
 * CANCELED, ABORTED or INTERNAL for it).
 */
import type http from "node:http";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { CostService } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { createRetryInterceptor } from "./retry-interceptor.js";
import { retryOptionsFrom, type RetryOptions } from "./retry-policy.js";
import { createTransportErrorInterceptor } from "./transport-errors.js";

export { CostService };
export { recordCostsWithRetry, type RecordCostsMessage, type RecordCostsRetryOptions, type ReplayableMessages } from "./record-costs-with-retry.js";
export {
  backoffDelayMs,
  DEFAULT_RETRY_OPTIONS,
  isRetryableError,
  METHOD_RETRY_SAFETY,
  RETRYABLE_CODES,
  type RetryEvent,
  type RetryOptions,
  type RetrySafety,
} from "./retry-policy.js";
export { createRetryInterceptor } from "./retry-interceptor.js";
export { connectErrorOfCall, createTransportErrorInterceptor } from "./transport-errors.js";

/** A typed CostService client. */
export type CostClient = Client<typeof CostService>;

/** How to reach a Cost Core server. */
export interface CostClientOptions {
  /** e.g. "http://127.0.0.1:8080". */
  readonly baseUrl: string;
  /** "grpc" (HTTP/2, the default) or "connect" (HTTP/1.1 JSON-capable protocol). */
  readonly protocol?: "grpc" | "connect";
  /** Sent as `authorization: Bearer <key>` when set. */
  readonly apiKey?: string | undefined;
  /**
   * Retries of the unary calls that are safe to repeat; `{}` takes the defaults
   * (5 attempts, 100 ms doubling to at most 5 s, with jitter). Default: no retries.
   */
  readonly retry?: Partial<RetryOptions> | undefined;
  /**
   * The HTTP/1.1 agent of the Connect protocol (default: Node's global agent, which
   * keeps connections alive), e.g. for TLS settings or connection limits.
   */
  readonly agent?: http.Agent | undefined;
  /** More interceptors, run inside the retry (once per attempt). */
  readonly interceptors?: readonly Interceptor[];
}

/** The transport a client uses; exposed for callers that build their own clients. */
export function createCostTransport(options: CostClientOptions): Transport {
  // The first interceptor is the outermost: retry wraps the attempts, each of which gets the key.
  const interceptors: Interceptor[] = [];
  if (options.retry !== undefined) interceptors.push(createRetryInterceptor(retryOptionsFrom(options.retry)));
  interceptors.push(createTransportErrorInterceptor(), ...(options.interceptors ?? []));
  if (options.apiKey) {
    const header = `Bearer ${options.apiKey}`;
    interceptors.push((next) => (request) => {
      request.header.set("authorization", header);
      return next(request);
    });
  }
  if (options.protocol === "connect") {
    return createConnectTransport({ baseUrl: options.baseUrl, httpVersion: "1.1", interceptors, nodeOptions: options.agent ? { agent: options.agent } : undefined });
  }
  return createGrpcTransport({ baseUrl: options.baseUrl, interceptors });
}

/** Creates a typed client for a Cost Core server. */
export function createCostClient(options: CostClientOptions): CostClient {
  return createClient(CostService, createCostTransport(options));
}
