import { once } from "node:events";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { createAuthGate, type StreamLimits } from "./api/auth/auth-gate.js";
import type { KeyRing } from "./api/auth/api-keys.js";
import { createHealthStatus, type HealthStatus } from "./api/health.js";
import { createInterceptors, createRoutes } from "./api/routes.js";
import type { CostCore } from "./core/cost-core.js";
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
  const handler = connectNodeAdapter({
    routes: createRoutes({ core, health, logger, metrics: options.metrics }),
    interceptors: createInterceptors({ core, health, logger, metrics: options.metrics }),
    readMaxBytes: options.readMaxBytes ?? 4 * 1024 * 1024,
    shutdownSignal: shutdown.signal,
    requestGate: createAuthGate(options.keyRing, options.streamLimits),
    fallback: (req, res) => plainRoutes(req, res, health, options.metrics),
  });

  const sessions = new Set<http2.ServerHttp2Session>();
  const h2 = options.tls
    ? http2.createSecureServer({ cert: options.tls.cert, key: options.tls.key, allowHTTP1: true }, handler)
    : http2.createServer({}, handler);
  h2.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const h1 = http.createServer(handler);
  const front = options.tls ? h2 : net.createServer((socket) => routeByPreface(socket, h1, h2));
  for (const server of [front, h1]) server.on("error", (error) => logger.error({ err: error }, "server error"));

  front.listen(options.port, options.host);
  await once(front, "listening");
  const port = (front.address() as AddressInfo).port;
  const url = `${options.tls ? "https" : "http"}://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`;

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
        front.close();
        // GOAWAY: HTTP/2 clients open no new streams here; streams in flight go on.
        for (const session of sessions) session.close();
        h1.closeIdleConnections();
        const grace = setTimeout(() => {
          // Past the grace period, end what is left (watchers, endless streams) with a retryable code.
          shutdown.abort(new ConnectError("the server is shutting down", Code.Unavailable));
          for (const session of sessions) session.destroy();
          h1.closeAllConnections();
        }, options.shutdownGraceMs ?? 10_000);
        await Promise.all([
          new Promise<void>((resolve) => (sessions.size === 0 ? resolve() : waitForSessions(sessions, resolve))),
          new Promise<void>((resolve) => h1.close(() => resolve())),
        ]);
        clearTimeout(grace);
        shutdown.abort(new ConnectError("the server is shutting down", Code.Unavailable));
      })();
      return closing;
    },
  };
}

function waitForSessions(sessions: Set<http2.ServerHttp2Session>, resolve: () => void): void {
  for (const session of sessions) {
    session.once("close", () => {
      if (sessions.size === 0) resolve();
    });
  }
}

const PREFACE = Buffer.from("PRI * HTTP/2.0");

/** Hands a cleartext connection to the HTTP/2 or the HTTP/1.1 server by its first bytes. */
function routeByPreface(socket: net.Socket, h1: http.Server, h2: http2.Http2Server): void {
  let seen = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PREFACE.length);
    const isH2 = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (isH2 && seen.length < PREFACE.length) return;
    socket.off("data", onData);
    socket.pause();
    socket.unshift(seen);
    // Both servers take bytes already buffered on the socket first. The HTTP/2
    // session then reads the socket natively, so it must not be set flowing here.
    if (isH2) h2.emit("connection", socket);
    else {
      h1.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
  socket.on("error", () => socket.destroy());
}

type FallbackHandler = NonNullable<Parameters<typeof connectNodeAdapter>[0]["fallback"]>;

/** Plain HTTP routes beside the RPCs: a liveness probe for containers and a pointer for people. */
function plainRoutes(req: Parameters<FallbackHandler>[0], res: Parameters<FallbackHandler>[1], health: HealthStatus, metrics: Metrics | undefined): void {
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
  if (req.method === "GET" && path === "/") {
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.end("Cost Core: gRPC, gRPC-Web and Connect at /dreamnet.cost.v1.CostService/<Method>\n");
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found\n");
}
