import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "../logger.js";
import { createBrowserBundle, type BrowserBundle } from "./browser-bundle.js";
import { createHttpAsset, sendAsset, sendHtmlPage, type AnyRequest, type AnyResponse, type HttpAsset } from "./http-asset.js";

/** Where the dashboard comes from. */
export interface DashboardOptions {
  readonly logger: Logger;
  /**
   * Folder holding index.html, dashboard.css, icon.svg and the browser code in
   * `.app/` (default: this module's folder).
   */
  readonly sourceDir?: string;
}

/** The web dashboard served at `/`. */
export interface Dashboard {
  /**
   * Serves the request when it is the dashboard's (`/` asked for as HTML, or a
   * `/dashboard/` asset); false otherwise, for the caller's own routes.
   */
  handle(req: AnyRequest, res: AnyResponse): boolean;
}

/** The paths served, and the file each comes from (the script is bundled, not read). */
const STATIC_FILES: Readonly<Record<string, { readonly file: string; readonly contentType: string }>> = {
  "/": { file: "index.html", contentType: "text/html; charset=utf-8" },
  "/dashboard/dashboard.css": { file: "dashboard.css", contentType: "text/css; charset=utf-8" },
  "/dashboard/icon.svg": { file: "icon.svg", contentType: "image/svg+xml" },
};
const SCRIPT_PATH = "/dashboard/app.js";

/**
 * The dashboard's routes: the page, its stylesheet and icon read from disk on
 * first use, and its script bundled in memory on first use. Nothing is built
 * before a browser asks, so server start does not wait for it. When bundling
 * fails the server keeps running: it logs the reasons and answers the page with
 * a 500 that says so.
 */
export function createDashboard(options: DashboardOptions): Dashboard {
  const sourceDir = options.sourceDir ?? path.dirname(fileURLToPath(import.meta.url));
  const bundle: BrowserBundle = createBrowserBundle(path.join(sourceDir, ".app", "main.ts"));
  const files = new Map<string, Promise<HttpAsset>>();
  const { logger } = options;

  function fileAsset(urlPath: string, spec: { file: string; contentType: string }): Promise<HttpAsset> {
    let asset = files.get(urlPath);
    if (!asset) {
      asset = readFile(path.join(sourceDir, spec.file)).then((body) => createHttpAsset(spec.contentType, body));
      // A failed read is retried next time rather than remembered.
      asset.catch(() => files.delete(urlPath));
      files.set(urlPath, asset);
    }
    return asset;
  }

  let reported = false;
  async function script(): Promise<HttpAsset | undefined> {
    const outcome = await bundle.get();
    if (outcome.kind === "built") {
      if (!reported) {
        reported = true;
        logger.info({ tookMs: outcome.tookMs, bytes: outcome.asset.body.length }, "dashboard: browser code bundled");
      }
      return outcome.asset;
    }
    logger.error({ problems: outcome.problems }, "dashboard: bundling the browser code failed; the dashboard answers 500 until it is fixed");
    return undefined;
  }

  async function serve(req: AnyRequest, res: AnyResponse, urlPath: string): Promise<void> {
    if (urlPath === SCRIPT_PATH) {
      const asset = await script();
      if (asset) sendAsset(req, res, asset);
      else sendHtmlPage(res, 500, "Dashboard unavailable", "The dashboard's browser code could not be built. The server log says why.");
      return;
    }
    const spec = STATIC_FILES[urlPath];
    if (!spec) return;
    // The page is useless without its script: a build failure shows here, not as a blank page.
    if (urlPath === "/" && !(await script())) {
      sendHtmlPage(res, 500, "Dashboard unavailable", "The dashboard's browser code could not be built. The server log says why; the API itself is unaffected.");
      return;
    }
    sendAsset(req, res, await fileAsset(urlPath, spec));
  }

  return {
    handle(req, res) {
      const urlPath = (req.url ?? "/").split("?")[0] ?? "/";
      if (urlPath !== SCRIPT_PATH && !(urlPath in STATIC_FILES)) return false;
      // curl and scripts asking for / get the server's plain-text pointer; browsers ask for HTML.
      if (urlPath === "/" && !acceptsHtml(req.headers.accept)) return false;
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" });
        res.end("method not allowed\n");
        return true;
      }
      serve(req, res, urlPath).catch((error: unknown) => {
        logger.error({ err: error, path: urlPath }, "dashboard: cannot serve a file");
        if (!res.headersSent) sendHtmlPage(res, 500, "Dashboard unavailable", "A dashboard file could not be read. The server log says why.");
        else res.end();
      });
      return true;
    },
  };
}

function acceptsHtml(accept: string | undefined): boolean {
  return accept !== undefined && /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);
}
