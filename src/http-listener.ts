import { once } from "node:events";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type { Logger } from "./logger.js";

/** A request handler usable by both the HTTP/1.1 and the HTTP/2 server. */
export type UniversalRequestHandler = (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** One port serving a handler over HTTP/2 and HTTP/1.1. */
export interface HttpListener {
  readonly port: number;
  readonly url: string;
  /**
   * Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts
   * what is left, calling `beforeCut` first so handlers can end their calls with a
   * status. Resolves true when everything finished within the grace period.
   */
  close(graceMs: number, beforeCut?: () => void): Promise<boolean>;
}

/** Where and how to listen. */
export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer } | undefined;
}

const PREFACE = Buffer.from("PRI * HTTP/2.0");
// Flow-control windows far above HTTP/2's 64 KiB default: a RecordCosts message of
// a few hundred records is tens of KiB, and a small window makes the client wait a
// round trip for every message.
const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
const SESSION_WINDOW_BYTES = 32 * 1024 * 1024;

/**
 * Serves a handler on one port. Cleartext connections are sorted by their first
 * bytes: HTTP/2 clients (gRPC) open with the "PRI * HTTP/2.0" preface, anything
 * else is HTTP/1.1 (browsers, curl with JSON). With TLS, ALPN does the same job.
 */
export async function listenOnePort(handler: UniversalRequestHandler, options: ListenOptions, logger: Logger): Promise<HttpListener> {
  const sessions = new Set<http2.ServerHttp2Session>();
  // The raw sockets of HTTP/2 connections: a session that is closing gracefully no
  // longer lets go of its socket by itself, and session.socket is only a guarded proxy.
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  const settings: http2.Settings = { initialWindowSize: STREAM_WINDOW_BYTES };
  const h2 = options.tls
    ? http2.createSecureServer({ cert: options.tls.cert, key: options.tls.key, allowHTTP1: true, settings }, handler)
    : http2.createServer({ settings }, handler);
  h2.on("session", (session: http2.ServerHttp2Session) => {
    session.setLocalWindowSize(SESSION_WINDOW_BYTES);
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  if (options.tls) h2.on("secureConnection", track);
  const h1 = http.createServer(handler);
  const front = options.tls ? h2 : net.createServer((socket) => routeByPreface(socket, h1, h2, track));
  for (const server of [front, h1]) server.on("error", (error) => logger.error({ err: error }, "server error"));

  front.listen(options.port, options.host);
  await once(front, "listening");
  const port = (front.address() as AddressInfo).port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const url = `${options.tls ? "https" : "http"}://${host}:${port}`;

  return {
    port,
    url,
    async close(graceMs, beforeCut) {
      front.close();
      // GOAWAY: HTTP/2 clients open no new streams here; streams in flight go on.
      for (const session of sessions) session.close();
      h1.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      });
      const drained = Promise.all([
        new Promise<void>((resolve) => (sessions.size === 0 ? resolve() : whenAllClosed(sessions, resolve))),
        new Promise<void>((resolve) => h1.close(() => resolve())),
      ]).then(() => true as const);
      const result = await Promise.race([drained, graceOver]);
      clearTimeout(timer);
      if (!result) {
        beforeCut?.();
        // A moment for those statuses to be written before the connections go.
        await new Promise((resolve) => setTimeout(resolve, 100));
        // A session already closing gracefully has half-closed its socket, and destroy()
        // alone then leaves it open while the client holds it: close the socket too.
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
        h1.closeAllConnections();
        await drained;
      }
      return result;
    },
  };
}

function whenAllClosed(sessions: Set<http2.ServerHttp2Session>, resolve: () => void): void {
  for (const session of sessions) {
    session.once("close", () => {
      if (sessions.size === 0) resolve();
    });
  }
}

/** Hands a cleartext connection to the HTTP/2 or the HTTP/1.1 server by its first bytes. */
function routeByPreface(socket: net.Socket, h1: http.Server, h2: http2.Http2Server, trackH2: (socket: net.Socket) => void): void {
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
    if (isH2) {
      trackH2(socket);
      h2.emit("connection", socket);
    }
    else {
      h1.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
  socket.on("error", () => socket.destroy());
}
