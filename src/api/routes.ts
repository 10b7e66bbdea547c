import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { CostService } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import type { CostCore } from "../core/cost-core.js";
import type { Logger } from "../logger.js";
import { createAlertHandlers } from "./alert-handlers.js";
import { createAuditHandlers } from "./audit-handlers.js";
import { createBudgetHandlers } from "./budget-handlers.js";
import type { Metrics } from "../observability/metrics.js";
import { createErrorInterceptor } from "./error-interceptor.js";
import { createObserveInterceptor } from "./observe-interceptor.js";
import { registerHealthService, type HealthStatus } from "./health.js";
import { createIngestHandlers } from "./ingest-handlers.js";
import { createReadHandlers } from "./read-handlers.js";
import { registerReflectionService } from "./reflection.js";

/** What the routes are built from. */
export interface RouteDeps {
  readonly core: CostCore;
  readonly health: HealthStatus;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
}

/** Interceptors for every call, outermost first. */
export function createInterceptors(deps: RouteDeps): Interceptor[] {
  // Outermost first: observation sees the final code the error interceptor chose.
  return [createObserveInterceptor(deps.logger, deps.metrics), createErrorInterceptor(deps.logger)];
}

/** Registers CostService, gRPC health checking and server reflection on a router. */
export function createRoutes(deps: RouteDeps): (router: ConnectRouter) => void {
  return (router) => {
    router.service(CostService, {
      ...createIngestHandlers(deps.core, (count) => deps.metrics?.countRejected(count)),
      ...createReadHandlers(deps.core),
      ...createBudgetHandlers(deps.core),
      ...createAlertHandlers(deps.core),
      ...createAuditHandlers(deps.core),
    });
    registerHealthService(router, deps.health);
    registerReflectionService(router, [CostService, Health]);
  };
}
