import { createHttpAsset, type HttpAsset } from "./http-asset.js";

/** The outcome of bundling the browser code: the script, or why there is none. */
export type BundleOutcome =
  | { readonly kind: "built"; readonly asset: HttpAsset; readonly tookMs: number }
  | { readonly kind: "failed"; readonly problems: readonly string[] };

/** The browser code, bundled on first use and then kept in memory. */
export interface BrowserBundle {
  /** The bundle; bundles on the first call (and again after a failure, so a fixed file is picked up). */
  get(): Promise<BundleOutcome>;
}

/**
 * Bundles `entryPoint` and everything it imports into one minified ES module with
 * esbuild, in memory. esbuild is imported only here, on first use, so a server
 * that nobody opens in a browser never loads it.
 */
export function createBrowserBundle(entryPoint: string): BrowserBundle {
  let pending: Promise<BundleOutcome> | undefined;
  return {
    get() {
      pending ??= bundle(entryPoint).then((outcome) => {
        if (outcome.kind === "failed") pending = undefined;
        return outcome;
      });
      return pending;
    },
  };
}

async function bundle(entryPoint: string): Promise<BundleOutcome> {
  const startedMs = performance.now();
  try {
    const esbuild = await import("esbuild");
    const result = await esbuild.build({
      entryPoints: [entryPoint],
      bundle: true,
      write: false,
      minify: true,
      format: "esm",
      target: "es2020",
      platform: "browser",
      charset: "utf8",
      // Libraries that branch on NODE_ENV take their production paths.
      define: { "process.env.NODE_ENV": '"production"' },
      logLevel: "silent",
    });
    const file = result.outputFiles[0];
    if (!file) return { kind: "failed", problems: ["esbuild produced no output"] };
    return { kind: "built", asset: createHttpAsset("text/javascript; charset=utf-8", Buffer.from(file.contents)), tookMs: Math.round(performance.now() - startedMs) };
  } catch (error) {
    return { kind: "failed", problems: problemsOf(error) };
  }
}

/** esbuild's errors as "file:line:column: text" lines; anything else as its message. */
function problemsOf(error: unknown): string[] {
  if (typeof error === "object" && error !== null && "errors" in error && Array.isArray(error.errors) && error.errors.length > 0) {
    return (error.errors as unknown[]).map((entry) => {
      const e = entry as { text?: unknown; location?: { file?: unknown; line?: unknown; column?: unknown } | null };
      const where = e.location ? `${String(e.location.file)}:${String(e.location.line)}:${String(e.location.column)}: ` : "";
      return `${where}${String(e.text)}`;
    });
  }
  return [error instanceof Error ? error.message : String(error)];
}
