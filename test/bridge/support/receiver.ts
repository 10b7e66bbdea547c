import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { SIGNATURE_HEADER, verifySignature } from "../../../src/bridge/signature.js";

/** One request as the receiver saw it. */
export interface ReceivedRequest {
  /** 1 for the first request the receiver got. */
  readonly n: number;
  readonly id: string;
  readonly type: string;
  readonly subject: string;
  readonly contentType: string;
  readonly signature: string | undefined;
  readonly signatureValid: boolean;
  /** The raw body, exactly as received. */
  readonly body: string;
  /** The parsed CloudEvent. */
  readonly event: Readonly<Record<string, unknown>>;
}

/** How the receiver answers one request. */
export type Reply =
  | { readonly kind: "answer"; readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly body?: string }
  /** Never answers: the sender's timeout has to end it. */
  | { readonly kind: "hang" }
  /** Processes the event (it counts as accepted), calls `then` (e.g. to crash the sender), answers 200 a moment later. */
  | { readonly kind: "accept-then"; readonly then: () => void }
  /** Drops the connection and stops listening: the receiver is down until comeBack(). */
  | { readonly kind: "go-down" };

/** A CloudEvents receiver on 127.0.0.1 that records everything and deduplicates by event id, as a real one would. */
export interface Receiver {
  readonly url: string;
  readonly port: number;
  /** Every request, in arrival order (raw deliveries). */
  readonly requests: readonly ReceivedRequest[];
  /** Requests it processed (answered 2xx, or accept-then), in order. */
  readonly accepted: readonly ReceivedRequest[];
  /** Ids processed at least once. */
  readonly uniqueIds: ReadonlySet<string>;
  /** Processed requests whose id had been processed before (dropped by the dedup). */
  readonly duplicates: number;
  /** Requests whose signature did not verify. */
  readonly invalidSignatures: number;
  readonly isDown: boolean;
  /** Decides the answer of each request; the default accepts everything. */
  behave(decide: (request: ReceivedRequest) => Reply): void;
  /** Stops listening and drops every connection (senders then get ECONNREFUSED). */
  goDown(): Promise<void>;
  /** Listens again on the same port. */
  comeBack(): Promise<void>;
  close(): Promise<void>;
}

/** How the receiver checks signatures. */
export interface ReceiverOptions {
  readonly secret: string;
  /** The receiver's clock in unix seconds (default the wall clock). */
  readonly nowSeconds?: () => number;
  readonly toleranceSeconds?: number;
}

/** Starts a receiver on a free loopback port. */
export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const nowSeconds = options.nowSeconds ?? (() => Date.now() / 1_000);
  const requests: ReceivedRequest[] = [];
  const accepted: ReceivedRequest[] = [];
  const uniqueIds = new Set<string>();
  let duplicates = 0;
  let invalidSignatures = 0;
  let decide: (request: ReceivedRequest) => Reply = () => ({ kind: "answer", status: 200 });
  let down = false;

  const accept = (request: ReceivedRequest): void => {
    accepted.push(request);
    if (uniqueIds.has(request.id)) duplicates++;
    else uniqueIds.add(request.id);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const body = raw.toString("utf8");
      const signature = req.headers[SIGNATURE_HEADER] as string | undefined;
      const signatureValid = verifySignature(options.secret, signature, raw, nowSeconds(), options.toleranceSeconds ?? 300);
      if (!signatureValid) invalidSignatures++;
      let event: Record<string, unknown> = {};
      try {
        event = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // Counted as a request with an empty event; the test's assertions catch it.
      }
      const request: ReceivedRequest = {
        n: requests.length + 1,
        id: String(event.id),
        type: String(event.type),
        subject: String(event.subject),
        contentType: req.headers["content-type"] ?? "",
        signature,
        signatureValid,
        body,
        event,
      };
      requests.push(request);
      const reply: Reply = signatureValid ? decide(request) : { kind: "answer", status: 401 };
      switch (reply.kind) {
        case "answer":
          if (reply.status >= 200 && reply.status < 300) accept(request);
          res.writeHead(reply.status, { "content-type": "text/plain", ...reply.headers });
          res.end(reply.body ?? "");
          return;
        case "hang":
          return;
        case "accept-then":
          accept(request);
          reply.then();
          setTimeout(() => {
            if (!res.destroyed) res.writeHead(200).end();
          }, 5);
          return;
        case "go-down":
          req.socket.destroy();
          void goDown();
          return;
      }
    });
  });

  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;

  async function goDown(): Promise<void> {
    if (down) return;
    down = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  return {
    url: `http://127.0.0.1:${port}/events`,
    port,
    requests,
    accepted,
    uniqueIds,
    get duplicates() {
      return duplicates;
    },
    get invalidSignatures() {
      return invalidSignatures;
    },
    get isDown() {
      return down;
    },
    behave(fn) {
      decide = fn;
    },
    goDown,
    async comeBack() {
      if (!down) return;
      server.listen(port, "127.0.0.1");
      await once(server, "listening");
      down = false;
    },
    async close() {
      await goDown();
    },
  };
}
