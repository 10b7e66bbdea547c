import { setMaxListeners } from "node:events";
import { Code, ConnectError } from "@connectrpc/connect";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { createAuthGate, type StreamLimits } from "./api/auth/auth-gate.js";
import type { KeyRing } from "./api/auth/api-keys.js";
import { createHealthStatus, type HealthStatus } from "./api/health.js";
import { createNodeAdapter } from "./api/node-adapter.js";
import { createInterceptors, createRoutes } from "./api/routes.js";
import type { CostCore } from "./core/cost-core.js";
import { createDashboard, type Dashboard } from "./dashboard/dashboard-routes.js";
import { withSpecGrpcMessages } from "./grpc-message-encoding.js";
import { listenOnePort, type UniversalRequestHandler } from "./http-listener.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./observability/metrics.js";

/** How the server listens. */
export interface ServerOptions {
  /** Interface to bind, e.g. "127.0.0.1" or "0.0.0.0". */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Largest request message in bytes (default 4 MiB); larger ones get RESOURCE_EXHAUSTED. */
  readonly readMaxBytes?: number;
  /** How long shutdown waits for calls in flight before ending them (default 10 s). */
  readonly shutdownGraceMs?: number;
  /** TLS certificate and key (PEM); without them the port speaks cleartext HTTP/2 and HTTP/1.1. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer } | undefined;
  /** API keys; undefined is development mode, where every call is allowed as "anonymous". */
  readonly keyRing?: KeyRing | undefined;
  readonly streamLimits?: Partial<StreamLimits>;
  /** Prometheus metrics, served at /metrics; none when undefined. */
  readonly metrics?: Metrics | undefined;
}

/** A running server. */
export interface RunningServer {
  readonly port: number;
  readonly url: string;
  readonly health: HealthStatus;
  /** Graceful stop: refuse new calls, let calls in flight finish (up to the grace period), then close. */
  close(): Promise<void>;
}

/**
 * Serves gRPC, gRPC-Web and Connect on one port. Cleartext connections are sorted
 * by their first bytes: HTTP/2 clients (gRPC) open with the "PRI * HTTP/2.0"
 * preface, anything else is HTTP/1.1 (browsers, curl with JSON). With TLS, ALPN
 * does the same job.
 */
export async function startServer(core: CostCore, logger: Logger, options: ServerOptions): Promise<RunningServer> {
  const health = createHealthStatus({ "": ServingStatus.SERVING, "dreamnet.cost.v1.CostService": ServingStatus.SERVING });
  const shutdown = new AbortController();
  // connect-node adds a listener per call in flight; thousands of streams are normal here.
  setMaxListeners(0, shutdown.signal);
  const dashboard = createDashboard({ logger });
  const handler = createNodeAdapter({
    logger,
    routes: createRoutes({ core, health, logger, metrics: options.metrics }),
    interceptors: createInterceptors({ core, health, logger, metrics: options.metrics }),
    readMaxBytes: options.readMaxBytes ?? 4 * 1024 * 1024,
    shutdownSignal: shutdown.signal,
    requestGate: createAuthGate(options.keyRing, options.streamLimits),
    fallback: (req, res) => plainRoutes(req, res, health, options.metrics, dashboard),
  });

  const listener = await listenOnePort(withSpecGrpcMessages(handler), options, logger);
  const { port, url } = listener;

  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    health,
    close() {
      closing ??= (async () => {
        health.setAll(ServingStatus.NOT_SERVING);
        // Watchers get a resume message and end, so their connections can close.
        core.beginShutdown();
        // Past the grace period, calls still running end with UNAVAILABLE (safe to retry).
        const endCalls = (): void => shutdown.abort(new ConnectError("the server is shutting down", Code.Unavailable));
        await listener.close(options.shutdownGraceMs ?? 10_000, endCalls);
        endCalls();
      })();
      return closing;
    },
  };
}

type FallbackHandler = UniversalRequestHandler;

/** Plain HTTP routes beside the RPCs: a liveness probe for containers, metrics and the dashboard for people. */
function plainRoutes(
  req: Parameters<FallbackHandler>[0],
  res: Parameters<FallbackHandler>[1],
  health: HealthStatus,
  metrics: Metrics | undefined,
  dashboard: Dashboard,
): void {
  const path = (req.url ?? "/").split("?")[0];
  if (req.method === "GET" && path === "/metrics" && metrics) {
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { "content-type": metrics.registry.contentType });
        res.end(text);
      },
      () => {
        res.writeHead(503, { "content-type": "text/plain" });
        res.end("metrics unavailable\n");
      },
    );
    return;
  }
  if (req.method === "GET" && path === "/healthz") {
    const serving = health.get("") === ServingStatus.SERVING;
    res.writeHead(serving ? 200 : 503, { "content-type": "text/plain" });
    res.end(serving ? "ok\n" : "shutting down\n");
    return;
  }
  // GET / from a browser and /dashboard/*: the web dashboard.
  if (dashboard.handle(req, res)) return;
  if (req.method === "GET" && path === "/") {
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.end("Cost Core: gRPC, gRPC-Web and Connect at /dreamnet.cost.v1.CostService/<Method>; open / in a browser for the dashboard\n");
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found\n");
}
