import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { CostService } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";

export { CostService };

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
}

/** The transport a client uses; exposed for callers that build their own clients. */
export function createCostTransport(options: CostClientOptions): Transport {
  const interceptors: Interceptor[] = [];
  if (options.apiKey) {
    const header = `Bearer ${options.apiKey}`;
    interceptors.push((next) => (request) => {
      request.header.set("authorization", header);
      return next(request);
    });
  }
  if (options.protocol === "connect") {
    return createConnectTransport({ baseUrl: options.baseUrl, httpVersion: "1.1", interceptors });
  }
  return createGrpcTransport({ baseUrl: options.baseUrl, interceptors });
}

/** Creates a typed client for a Cost Core server. */
export function createCostClient(options: CostClientOptions): CostClient {
  return createClient(CostService, createCostTransport(options));
}
