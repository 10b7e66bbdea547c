import { createHash } from "node:crypto";
import type http from "node:http";
import type http2 from "node:http2";
import { gzipSync } from "node:zlib";

/** A request as either server hands it over. */
export type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
/** A response as either server hands it over. */
export type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;

/** A file held in memory, ready to serve with validators. */
export interface HttpAsset {
  readonly contentType: string;
  readonly body: Buffer;
  /** Strong ETag of `body`, quoted. */
  readonly etag: string;
  /** The gzip form and its own ETag, when compressing is worth it. */
  readonly gzip?: { readonly body: Buffer; readonly etag: string } | undefined;
}

/**
 * Headers on every dashboard response. The page loads only its own script, style
 * and icon and talks only to its own origin, so an injected script or a framing
 * page gets nowhere.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; "),
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

// Below this, gzip saves less than the bytes it costs to negotiate.
const GZIP_MIN_BYTES = 1_024;

/** Builds an asset: hashes the body once and pre-compresses it when that pays. */
export function createHttpAsset(contentType: string, body: Buffer | string): HttpAsset {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const hash = createHash("sha256").update(bytes).digest("base64url").slice(0, 27);
  const zipped = bytes.length >= GZIP_MIN_BYTES ? gzipSync(bytes, { level: 9 }) : undefined;
  return {
    contentType,
    body: bytes,
    etag: `"${hash}"`,
    gzip: zipped && zipped.length < bytes.length ? { body: zipped, etag: `"${hash}-gz"` } : undefined,
  };
}

/**
 * Sends an asset with its ETag, answering 304 when the browser already has it.
 * `no-cache` makes browsers revalidate every load, which costs a 304 and keeps a
 * new server version from being hidden behind a stale script.
 */
export function sendAsset(req: AnyRequest, res: AnyResponse, asset: HttpAsset): void {
  const useGzip = asset.gzip !== undefined && acceptsGzip(req.headers["accept-encoding"]);
  const { body, etag } = useGzip && asset.gzip ? asset.gzip : asset;
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    "content-type": asset.contentType,
    "cache-control": "no-cache",
    etag,
  };
  if (asset.gzip) headers.vary = "accept-encoding";
  if (matchesEtag(req.headers["if-none-match"], etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  if (useGzip) headers["content-encoding"] = "gzip";
  headers["content-length"] = String(body.length);
  res.writeHead(200, headers);
  if (req.method === "HEAD") res.end();
  else res.end(body);
}

/** Sends a small HTML page with a status, e.g. the 500 page when the dashboard cannot be built. */
export function sendHtmlPage(res: AnyResponse, status: number, title: string, message: string): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>\n`;
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(html);
}

function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(",").some((part) => {
    const [coding = "", ...params] = part.trim().toLowerCase().split(";");
    if (coding.trim() !== "gzip") return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** If-None-Match uses the weak comparison: a W/ prefix does not matter, "*" matches anything. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, "");
    return tag === "*" || tag === etag;
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
