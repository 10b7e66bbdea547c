import http2 from "node:http2";

/**
 * RPCs sent as bytes the test chose, over the Connect protocol (fetch, HTTP/1.1) or
 * gRPC (node:http2), with the answer read back by hand: no generated client between
 * the test and the server, so malformed bodies and frames reach it as they are.
 */

/** How a call's answer ended. */
export interface RawAnswer {
  /** "OK" or a canonical gRPC code name; "TRANSPORT:<reason>" when no RPC answer arrived. */
  readonly code: string;
  readonly message: string;
  /** The response messages (payloads of data frames, or the unary body on success). */
  readonly payloads: readonly Uint8Array[];
}

/** What to send. */
export interface RawRequest {
  /** e.g. "/dreamnet.cost.v1.CostService/RecordCost". */
  readonly path: string;
  /** The whole request body as sent (already enveloped for streaming protocols). */
  readonly body: Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
  /** Stop after the first response message (for streams that never end, e.g. WatchAlerts). */
  readonly firstMessageOnly?: boolean;
}

const FLAG_END_STREAM = 0b10;

/** One length-prefixed message of a streaming body: flags, then a 4-byte big-endian length. */
export function envelope(payload: Uint8Array, flags = 0): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, payload.length);
  out.set(payload, 5);
  return out;
}

/** Concatenates byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The complete envelopes at the start of `bytes`, and how many bytes they took. */
export function readEnvelopes(bytes: Uint8Array): { frames: { flags: number; data: Uint8Array }[]; used: number } {
  const frames: { flags: number; data: Uint8Array }[] = [];
  let at = 0;
  while (bytes.length - at >= 5) {
    const length = new DataView(bytes.buffer, bytes.byteOffset + at + 1, 4).getUint32(0);
    if (bytes.length - at - 5 < length) break;
    frames.push({ flags: bytes[at] ?? 0, data: bytes.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return { frames, used: at };
}

/** The canonical name of a gRPC status number. */
export function grpcCodeName(status: number): string {
  return GRPC_CODES[status] ?? `CODE_${status}`;
}

const GRPC_CODES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

/** The code an HTTP status stands for when no RPC status came with it (gRPC and Connect use the same table). */
export function codeFromHttpStatus(status: number): string {
  switch (status) {
    case 400:
      return "INTERNAL";
    case 401:
      return "UNAUTHENTICATED";
    case 403:
      return "PERMISSION_DENIED";
    case 404:
      return "UNIMPLEMENTED";
    case 429:
    case 502:
    case 503:
    case 504:
      return "UNAVAILABLE";
    default:
      return "UNKNOWN";
  }
}

/** A Connect error's code string ("invalid_argument", "canceled") as a canonical name. */
function connectCodeName(code: string): string {
  return code === "canceled" ? "CANCELLED" : code.toUpperCase();
}

function connectError(body: Uint8Array, httpStatus: number): { code: string; message: string } {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(body)) as { code?: unknown; message?: unknown };
    if (typeof parsed.code === "string") return { code: connectCodeName(parsed.code), message: typeof parsed.message === "string" ? parsed.message : "" };
  } catch {
    // not a Connect error body: fall back to the HTTP status
  }
  return { code: codeFromHttpStatus(httpStatus), message: `HTTP ${httpStatus}` };
}

/** A Connect unary call (POST, application/proto or application/json) with fetch over HTTP/1.1. */
export async function connectUnary(baseUrl: string, request: RawRequest & { readonly json: boolean }, signal: AbortSignal): Promise<RawAnswer> {
  const response = await fetch(baseUrl + request.path, {
    method: "POST",
    headers: { "content-type": request.json ? "application/json" : "application/proto", "connect-protocol-version": "1", ...request.headers },
    // A copy typed Uint8Array<ArrayBuffer>, which every BodyInit typing accepts.
    body: new Uint8Array(request.body),
    signal,
  });
  const body = new Uint8Array(await response.arrayBuffer());
  if (response.status === 200) return { code: "OK", message: "", payloads: [body] };
  return { ...connectError(body, response.status), payloads: [] };
}

/** A Connect streaming call (application/connect+proto or +json) with fetch; reads frames up to the end-stream message. */
export async function connectStream(baseUrl: string, request: RawRequest & { readonly json: boolean }, signal: AbortSignal): Promise<RawAnswer> {
  const abort = new AbortController();
  const onAbort = (): void => abort.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const response = await fetch(baseUrl + request.path, {
      method: "POST",
      headers: { "content-type": request.json ? "application/connect+json" : "application/connect+proto", "connect-protocol-version": "1", ...request.headers },
      body: new Uint8Array(request.body),
      signal: abort.signal,
    });
    if (response.status !== 200 || !response.body) {
      return { ...connectError(new Uint8Array(await response.arrayBuffer()), response.status), payloads: [] };
    }
    const payloads: Uint8Array[] = [];
    let pending: Uint8Array = new Uint8Array(0);
    const reader = response.body.getReader();
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      pending = concatBytes([pending, chunk.value]);
      const { frames, used } = readEnvelopes(pending);
      pending = pending.subarray(used);
      for (const frame of frames) {
        if ((frame.flags & FLAG_END_STREAM) !== 0) {
          const end = JSON.parse(new TextDecoder().decode(frame.data)) as { error?: { code?: string; message?: string } };
          abort.abort();
          if (end.error?.code) return { code: connectCodeName(end.error.code), message: end.error.message ?? "", payloads };
          return { code: "OK", message: "", payloads };
        }
        payloads.push(frame.data);
        if (request.firstMessageOnly) {
          abort.abort();
          return { code: "OK", message: "first message", payloads };
        }
      }
    }
    return { code: "TRANSPORT:no end-stream message", message: "", payloads };
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** A gRPC call on an HTTP/2 session: the body is sent as it is, the status read from headers or trailers. */
export function grpcCall(session: http2.ClientHttp2Session, request: RawRequest, signal: AbortSignal): Promise<RawAnswer> {
  return new Promise((resolve) => {
    let settled = false;
    const payloads: Uint8Array[] = [];
    let pending: Uint8Array = new Uint8Array(0);
    let httpStatus = 0;
    let status: { code: string; message: string } | undefined;
    const stream = session.request({
      ":method": "POST",
      ":path": request.path,
      "content-type": "application/grpc+proto",
      te: "trailers",
      ...request.headers,
    });
    const finish = (answer: RawAnswer): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      resolve(answer);
    };
    const onAbort = (): void => finish({ code: "TRANSPORT:aborted by the test", message: "", payloads });
    signal.addEventListener("abort", onAbort, { once: true });
    const statusFrom = (headers: http2.IncomingHttpHeaders): void => {
      const raw = headers["grpc-status"];
      if (raw === undefined) return;
      const message = headers["grpc-message"];
      status = { code: grpcCodeName(Number(raw)), message: typeof message === "string" ? decodeURIComponent(message) : "" };
    };
    stream.on("response", (headers) => {
      httpStatus = Number(headers[":status"] ?? 0);
      statusFrom(headers);
    });
    stream.on("trailers", statusFrom);
    stream.on("data", (chunk: Buffer) => {
      pending = concatBytes([pending, chunk]);
      const { frames, used } = readEnvelopes(pending);
      pending = pending.subarray(used);
      for (const frame of frames) payloads.push(frame.data);
      if (request.firstMessageOnly && payloads.length > 0) finish({ code: "OK", message: "first message", payloads });
    });
    stream.on("close", () => {
      if (status) finish({ ...status, payloads });
      else if (httpStatus !== 0 && httpStatus !== 200) finish({ code: codeFromHttpStatus(httpStatus), message: `HTTP ${httpStatus}`, payloads });
      else finish({ code: `TRANSPORT:stream closed without status (rst ${stream.rstCode})`, message: "", payloads });
    });
    stream.on("error", () => {
      // "close" follows and reports what arrived before the error.
    });
    stream.end(request.body);
  });
}
