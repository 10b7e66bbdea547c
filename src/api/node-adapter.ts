import { Code, ConnectError, createConnectRouter, type ConnectRouter, type ConnectRouterOptions } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { UniversalRequestHandler } from "../http-listener.js";
import type { Logger } from "../logger.js";
import { withParseErrorsAsInvalidArgument } from "./parse-error-codes.js";

/** Options of the Node handler: the router's, plus routes and a fallback for other paths. */
export interface NodeAdapterOptions extends Partial<ConnectRouterOptions> {
  readonly routes: (router: ConnectRouter) => void;
  readonly fallback: UniversalRequestHandler;
  readonly logger: Logger;
}

/**
 * connect-node's adapter with one change: every RPC handler answers undecodable
 * request bytes with INVALID_ARGUMENT (see withParseErrorsAsInvalidArgument). The
 * rest (routing by path, Node request and response conversion) is connect-node's own.
 */
export function createNodeAdapter(options: NodeAdapterOptions): UniversalRequestHandler {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...options });
  options.routes(router);
  const handlers = new Map(router.handlers.map((handler) => [handler.requestPath, { handler, wrapped: withParseErrorsAsInvalidArgument(handler) }]));
  return (request, response) => {
    const found = handlers.get((request.url ?? "").split("?", 2)[0] ?? "");
    if (!found) {
      options.fallback(request, response);
      return;
    }
    found
      .wrapped(universalRequestFromNodeRequest(request, response, undefined, undefined))
      .then((universal) => universalResponseToNodeResponse(universal, response))
      .catch((reason: unknown) => {
        // The client went away; nothing to report.
        if (ConnectError.from(reason).code === Code.Aborted) return;
        options.logger.error({ err: reason, procedure: found.handler.requestPath }, "handler failed");
      });
  };
}
