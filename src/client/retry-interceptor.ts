import type { Interceptor } from "@connectrpc/connect";
import { CostService } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { isRetrySafeUnary, withRetries, type RetryOptions } from "./retry-policy.js";

/**
 * Repeats the unary CostService calls that are safe to repeat (METHOD_RETRY_SAFETY)
 * after UNAVAILABLE, RESOURCE_EXHAUSTED or DEADLINE_EXCEEDED, with backoff and
 * jitter. Streaming calls pass through untouched: their request or response is a
 * stream that cannot be replayed from here (see recordCostsWithRetry).
 */
export function createRetryInterceptor(options: Readonly<RetryOptions>): Interceptor {
  return (next) => (request) => {
    if (request.stream || request.service.typeName !== CostService.typeName || !isRetrySafeUnary(request.method.localName)) {
      return next(request);
    }
    return withRetries(request.method.name, options, request.signal, (signal) => next({ ...request, signal }));
  };
}
