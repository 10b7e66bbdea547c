import type { UniversalServerRequest, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { withStreamEnd, type StreamEnd } from "./stream-end.js";

type Handler = (request: UniversalServerRequest) => Promise<UniversalServerResponse>;

// What connect-es answers when a request's protobuf bytes cannot be decoded: code
// INTERNAL with a message starting "parse binary:". That blames the server for the
// client's bytes; gRPC's own servers answer INVALID_ARGUMENT, and so do we.
const PARSE_PREFIX = "parse binary:";

/**
 * Wraps a connect-es universal handler so that requests whose bytes do not decode
 * are answered INVALID_ARGUMENT instead of INTERNAL, in each protocol's own form:
 * the gRPC status trailer, the gRPC-Web trailer frame, the Connect unary error body
 * and the Connect end-of-stream message. Everything else passes through untouched.
 */
export function withParseErrorsAsInvalidArgument(handler: Handler): Handler {
  return async (request) => {
    const response = await handler(request);
    const contentType = request.header.get("content-type") ?? "";
    if (contentType.startsWith("application/grpc-web")) return rewriteBody(response, grpcWebTrailerFrame);
    if (contentType.startsWith("application/grpc")) return rewriteGrpcTrailer(response);
    if (contentType.startsWith("application/connect+")) return rewriteBody(response, connectEndStreamFrame);
    if (response.status === 500) return rewriteConnectUnary(response);
    return response;
  };
}

function rewriteGrpcTrailer(response: UniversalServerResponse): UniversalServerResponse {
  const fix = (): void => {
    const trailer = response.trailer;
    if (trailer?.get("grpc-status") === "13" && decoded(trailer.get("grpc-message")).startsWith(PARSE_PREFIX)) trailer.set("grpc-status", "3");
  };
  if (!response.body) {
    fix();
    return response;
  }
  // The trailer is written after the body, so it can still change when the body ends.
  const onEnd = (end: StreamEnd): void => {
    if (end.kind === "completed") fix();
  };
  return { ...response, body: withStreamEnd(response.body, { onEnd }) };
}

async function rewriteConnectUnary(response: UniversalServerResponse): Promise<UniversalServerResponse> {
  if (!response.body || !(response.header?.get("content-type") ?? "").startsWith("application/json")) return response;
  const chunks: Uint8Array[] = [];
  for await (const chunk of response.body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const error = parseJson(bytes);
  if (error?.code === "internal" && typeof error.message === "string" && error.message.startsWith(PARSE_PREFIX)) {
    const body = Buffer.from(JSON.stringify({ ...error, code: "invalid_argument" }));
    const header = new Headers(response.header);
    header.set("content-length", String(body.length));
    return { ...response, status: 400, header, body: once(body) };
  }
  return { ...response, body: once(bytes) };
}

/** Rewrites the one frame of a body that `rewrite` recognises (the last one, for both protocols). */
function rewriteBody(response: UniversalServerResponse, rewrite: (chunk: Uint8Array) => Uint8Array | undefined): UniversalServerResponse {
  if (!response.body) return response;
  const body = response.body;
  return {
    ...response,
    body: (async function* () {
      for await (const chunk of body) yield rewrite(chunk) ?? chunk;
    })(),
  };
}

/** A gRPC-Web trailer frame (flag 0x80, uncompressed) carrying status 13 "parse binary". */
function grpcWebTrailerFrame(chunk: Uint8Array): Uint8Array | undefined {
  if (chunk.length < 5 || chunk[0] !== 0x80) return undefined;
  const text = Buffer.from(chunk.subarray(5)).toString("latin1");
  if (!/grpc-status: ?13\r\n/i.test(text) || !decoded(/grpc-message: ?([^\r]*)/i.exec(text)?.[1] ?? "").startsWith(PARSE_PREFIX)) return undefined;
  return frame(0x80, Buffer.from(text.replace(/grpc-status: ?13/i, "grpc-status: 3"), "latin1"));
}

/** A Connect end-of-stream frame (flag 0x02, uncompressed) whose error is an INTERNAL "parse binary". */
function connectEndStreamFrame(chunk: Uint8Array): Uint8Array | undefined {
  if (chunk.length < 5 || chunk[0] !== 0x02) return undefined;
  const end = parseJson(Buffer.from(chunk.subarray(5)));
  const error = end?.error as { code?: unknown; message?: unknown } | undefined;
  if (error?.code !== "internal" || typeof error.message !== "string" || !error.message.startsWith(PARSE_PREFIX)) return undefined;
  return frame(0x02, Buffer.from(JSON.stringify({ ...end, error: { ...error, code: "invalid_argument" } })));
}

function frame(flags: number, payload: Buffer): Uint8Array {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = flags;
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

function parseJson(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString("utf8"));
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function decoded(value: string | null | undefined): string {
  try {
    return decodeURIComponent(value ?? "");
  } catch {
    return value ?? "";
  }
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
