import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { CostService } from "../../../gen/dreamnet/cost/v1/cost_service_pb.js";

/** The generated CostService client the page calls. */
export type CostClient = Client<typeof CostService>;

/**
 * A CostService client over the Connect protocol (fetch; server streams work
 * through fetch's readable bodies). `apiKey` is read on every call, so a key
 * entered later applies to the next call without a new client.
 */
export function createDashboardClient(baseUrl: string, apiKey: () => string | undefined): CostClient {
  const authorization: Interceptor = (next) => (request) => {
    const key = apiKey();
    if (key) request.header.set("authorization", `Bearer ${key}`);
    return next(request);
  };
  return createClient(CostService, createConnectTransport({ baseUrl, interceptors: [authorization] }));
}
