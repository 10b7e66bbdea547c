import type { UniversalRequestHandler } from "./http-listener.js";

/**
 * Re-encodes the grpc-message trailer the way the gRPC spec describes: only bytes
 * outside printable ASCII, and "%", are percent-encoded. connect-node encodes it with
 * encodeURIComponent, which also escapes ":", ";", "=" and others; grpc-js decodes
 * with decodeURI, which leaves those escaped, so its users would read "%3A" in our
 * messages. Both decode the minimal form correctly.
 */
export function withSpecGrpcMessages(handler: UniversalRequestHandler): UniversalRequestHandler {
  return (request, response) => {
    const contentType = request.headers["content-type"];
    if (typeof contentType === "string" && contentType.startsWith("application/grpc") && !contentType.startsWith("application/grpc-web")) {
      const addTrailers = response.addTrailers.bind(response) as (headers: Record<string, string | string[]>) => void;
      (response as { addTrailers: (headers: Record<string, string | string[]>) => void }).addTrailers = (headers) => {
        const message = headers["grpc-message"];
        if (typeof message === "string") headers = { ...headers, "grpc-message": minimalPercentEncoding(message) };
        addTrailers(headers);
      };
    }
    handler(request, response);
  };
}

/** Decodes a percent-encoded grpc-message and encodes it again with only what the spec requires escaped. */
export function minimalPercentEncoding(encoded: string): string {
  let text: string;
  try {
    text = decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
