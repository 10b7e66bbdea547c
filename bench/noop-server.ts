// The baseline server for `npm run bench`: the same one-port listener and
// connect-node stack as Cost Core, with handlers that only count. Run as a child
// process; prints {"url": ...} on stdout once listening.
import { create } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  CostService,
  RecordCostResponseSchema,
  RecordCostsResponseSchema,
  RecordOutcome,
} from "../gen/dreamnet/cost/v1/cost_service_pb.js";
import { listenOnePort } from "../src/http-listener.js";
import { createSilentLogger } from "../src/logger.js";

let counted = 0;
const handler = connectNodeAdapter({
  routes: (router) =>
    router.service(CostService, {
      recordCost: () => {
        counted++;
        return create(RecordCostResponseSchema, { outcome: RecordOutcome.ACCEPTED });
      },
      async recordCosts(requests) {
        let n = 0n;
        for await (const message of requests) n += BigInt(message.records.length);
        counted += Number(n);
        return create(RecordCostsResponseSchema, { acceptedCount: n });
      },
    }),
});
const listener = await listenOnePort(handler, { host: "127.0.0.1", port: 0 }, createSilentLogger());
process.stdout.write(`${JSON.stringify({ url: listener.url })}\n`);
process.on("SIGTERM", () => void listener.close(1_000).then(() => process.exit(0)));
