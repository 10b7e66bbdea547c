import { randomUUID } from "node:crypto";
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import type { Metrics } from "../observability/metrics.js";
import { withStreamEnd } from "./stream-end.js";

/** The id of the current call, from the client's x-request-id or made up; echoed in the response header. */
export const requestIdKey = createContextKey<string>("", { description: "request id" });

/**
 * Measures and logs every call: duration (for streams, until the stream ends) and
 * final code into the metrics, one structured log line per call with its request id.
 */
export function createObserveInterceptor(logger: Logger, metrics: Metrics | undefined): Interceptor {
  return (next) => async (request) => {
    const method = request.method.name;
    const requestId = sanitize(request.header.get("x-request-id")) ?? randomUUID();
    request.contextValues.set(requestIdKey, requestId);
    const started = performance.now();
    const finish = (error: unknown): void => {
      const code = error === undefined ? "OK" : Code[ConnectError.from(error).code] ?? "UNKNOWN";
      const seconds = (performance.now() - started) / 1000;
      metrics?.observeCall(method, code, seconds);
      const fields = { requestId, method, code, ms: Math.round(seconds * 10_000) / 10 };
      if (code === "OK") logger.debug(fields, "call");
      else logger.info({ ...fields, error: error instanceof ConnectError ? error.rawMessage : undefined }, "call failed");
    };
    let response;
    try {
      response = await next(request);
    } catch (error) {
      finish(error);
      throw error;
    }
    response.header.set("x-request-id", requestId);
    if (!response.stream) {
      finish(undefined);
      return response;
    }
    return {
      ...response,
      message: withStreamEnd(response.message, { onEnd: (end) => finish(end.kind === "failed" ? end.error : undefined) }),
    };
  };
}

function sanitize(value: string | null): string | undefined {
  return value && /^[\x21-\x7e]{1,128}$/.test(value) ? value : undefined;
}
