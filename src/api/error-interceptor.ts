import { Code, type ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import { connectErrorFrom } from "./connect-error-from.js";
import { withStreamEnd } from "./stream-end.js";

/**
 * Turns whatever a handler throws, for unary calls and inside response streams,
 * into a ConnectError with the right code, and logs the ones that are our fault.
 */
export function createErrorInterceptor(logger: Logger): Interceptor {
  const convert = (error: unknown, procedure: string): ConnectError => {
    const connectError = connectErrorFrom(error);
    if (connectError.code === Code.Internal || connectError.code === Code.Unavailable) {
      logger.error({ err: connectError.cause ?? error, procedure, code: Code[connectError.code] }, "call failed");
    }
    return connectError;
  };
  return (next) => async (request) => {
    const procedure = request.method.parent.typeName + "/" + request.method.name;
    let response;
    try {
      response = await next(request);
    } catch (error) {
      throw convert(error, procedure);
    }
    if (!response.stream) return response;
    return { ...response, message: withStreamEnd(response.message, { mapError: (error) => convert(error, procedure) }) };
  };
}
