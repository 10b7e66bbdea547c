import { once } from "node:events";
import net from "node:net";
import type { AddressInfo } from "node:net";

/**
 * What the proxy does with one client connection:
 * - "pass": forwards both ways;
 * - "refuse": closes it at once, before any byte (the client sees UNAVAILABLE);
 * - "lose-response": forwards the request to the server but closes both sides as
 *   soon as the server starts answering it, so the server has done the work (and
 *   committed) while the client never sees the answer;
 * - "delay": holds the client's bytes for `delayMs`, then forwards both ways.
 */
export type ConnectionMode = "pass" | "refuse" | "lose-response" | "delay";

/** A TCP proxy in front of a server that misbehaves on the connections it is told to. */
export interface FlakyProxy {
  /** e.g. "http://127.0.0.1:40123". */
  readonly url: string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Queues modes for the next connections; once the queue is empty, connections pass. */
  plan(...modes: ConnectionMode[]): void;
  /** Forgets the modes not used yet. */
  clearPlan(): void;
  close(): Promise<void>;
}

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const FRAME_HEADER_BYTES = 9;
// DATA, HEADERS and RST_STREAM answer a request; WINDOW_UPDATE on a stream only lets the client send more.
const ANSWER_FRAME_TYPES: ReadonlySet<number> = new Set([0x0, 0x1, 0x3]);

/** Starts a proxy on a free loopback port forwarding to `target` (host and port). */
export async function startFlakyProxy(target: { readonly host: string; readonly port: number }, options: { readonly delayMs?: number } = {}): Promise<FlakyProxy> {
  const queue: ConnectionMode[] = [];
  const open = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((client) => {
    connections++;
    open.add(client);
    client.once("close", () => open.delete(client));
    client.on("error", () => client.destroy());
    const mode = queue.shift() ?? "pass";
    if (mode === "refuse") {
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    open.add(upstream);
    upstream.once("close", () => {
      open.delete(upstream);
      client.destroy();
    });
    client.once("close", () => upstream.destroy());
    upstream.on("error", () => upstream.destroy());
    if (mode === "delay") {
      // The client's bytes wait in the socket's buffer until then.
      setTimeout(() => {
        client.pipe(upstream);
        upstream.pipe(client);
      }, options.delayMs ?? 300).unref();
      return;
    }
    client.pipe(upstream);
    if (mode === "lose-response") cutAtFirstAnswer(client, upstream);
    else upstream.pipe(client);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    plan: (...modes) => void queue.push(...modes),
    clearPlan: () => void queue.splice(0),
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Forwards the server's bytes until it starts answering a request, then closes
 * both sides. With HTTP/2, connection-level frames (stream 0: SETTINGS, PING,
 * WINDOW_UPDATE) and a stream's WINDOW_UPDATE pass, and the first DATA, HEADERS
 * or RST_STREAM of a stream is the answer; with HTTP/1.1 any byte from the server is the answer.
 */
function cutAtFirstAnswer(client: net.Socket, upstream: net.Socket): void {
  let isHttp2: boolean | undefined;
  client.once("data", (first: Buffer) => (isHttp2 = first.subarray(0, H2_PREFACE.length).equals(H2_PREFACE.subarray(0, Math.min(first.length, H2_PREFACE.length)))));
  let pending = Buffer.alloc(0);
  upstream.on("data", (chunk: Buffer) => {
    if (!isHttp2) {
      cut();
      return;
    }
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= FRAME_HEADER_BYTES) {
      const length = pending.readUIntBE(0, 3);
      const type = pending.readUInt8(3);
      const streamId = pending.readUInt32BE(5) & 0x7fffffff;
      if (streamId !== 0 && ANSWER_FRAME_TYPES.has(type)) {
        cut();
        return;
      }
      if (pending.length < FRAME_HEADER_BYTES + length) return;
      client.write(pending.subarray(0, FRAME_HEADER_BYTES + length));
      pending = pending.subarray(FRAME_HEADER_BYTES + length);
    }
  });
  function cut(): void {
    upstream.destroy();
    client.destroy();
  }
}
