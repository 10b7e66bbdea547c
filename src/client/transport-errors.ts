import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/** Node error codes that mean the connection failed or broke, not that the server answered. */
const CONNECTION_ERROR_CODES: ReadonlySet<string> = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "ERR_HTTP2_GOAWAY_SESSION",
  "ERR_HTTP2_INVALID_SESSION",
  "ERR_HTTP2_SESSION_ERROR",
  "ERR_HTTP2_STREAM_CANCEL",
  "ERR_HTTP2_ERROR",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

/**
 * The error a caller should see for a failed call: a connection that failed or
 * broke under a call becomes UNAVAILABLE, as gRPC's own clients report it.
 * connect-node reports such failures as CANCELED (an HTTP/2 stream reset when the
 * session is destroyed), ABORTED (ECONNRESET) or INTERNAL (EPIPE), which would
 * read as "you cancelled" or "the server failed" and hide that a retry is safe.
 * `signal` is the call's own: when it was aborted, CANCELED is the caller's doing
 * and stays.
 */
export function connectErrorOfCall(thrown: unknown, signal: AbortSignal): ConnectError {
  const error = ConnectError.from(thrown);
  if (error.code === Code.Unavailable || signal.aborted) return error;
  const brokenStream = error.code === Code.Canceled && error.metadata.get("grpc-status") === null && error.rawMessage.startsWith("http/2 stream closed");
  if (brokenStream || ((error.code === Code.Aborted || error.code === Code.Internal || error.code === Code.Unknown) && hasConnectionCause(error))) {
    return new ConnectError(`connection lost: ${error.rawMessage}`, Code.Unavailable, error.metadata, undefined, error);
  }
  return error;
}

function hasConnectionCause(error: Error): boolean {
  const seen = new Set<unknown>();
  for (let link: unknown = error; link instanceof Error && !seen.has(link); link = link.cause) {
    seen.add(link);
    const code = (link as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_ERROR_CODES.has(code)) return true;
  }
  return false;
}

/** Reports connection failures as UNAVAILABLE (see connectErrorOfCall), for unary and streaming calls. */
export function createTransportErrorInterceptor(): Interceptor {
  return (next) => async (request) => {
    let response;
    try {
      response = await next(request);
    } catch (thrown) {
      throw connectErrorOfCall(thrown, request.signal);
    }
    if (!response.stream) return response;
    const messages = response.message;
    return {
      ...response,
      message: (async function* () {
        try {
          yield* messages;
        } catch (thrown) {
          throw connectErrorOfCall(thrown, request.signal);
        }
      })(),
    };
  };
}
