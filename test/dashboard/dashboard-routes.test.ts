import { once } from "node:events";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDashboard } from "../../src/dashboard/dashboard-routes.js";
import { createLogger } from "../../src/logger.js";
import { startDashboardServer, type DashboardServer } from "./dashboard-fixtures.js";

/** A raw HTTP/1.1 GET, so headers and bodies are seen exactly as sent (fetch would decompress). */
async function get(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.request(url, { method, headers }, resolve).on("error", reject).end();
  });
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return { status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) };
}

const HTML = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };

describe("the dashboard's HTTP routes", () => {
  let env: DashboardServer;

  beforeAll(async () => {
    env = await startDashboardServer();
  });
  afterAll(async () => {
    await env.close();
  });

  it("serves the page at / to browsers, with a content security policy and a strong ETag", async () => {
    const page = await get(`${env.url}/`, HTML);

    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["content-security-policy"]).toContain("default-src 'self'");
    expect(page.headers["content-security-policy"]).toContain("connect-src 'self'");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.headers.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const html = page.body.toString("utf8");
    expect(html).toContain('<script type="module" src="/dashboard/app.js"></script>');
    // Offline: nothing is loaded from another origin.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it("keeps the plain-text pointer at / for curl and scripts, and /healthz as it was", async () => {
    const text = await get(`${env.url}/`, { accept: "*/*" });
    expect(text.status).toBe(200);
    expect(text.body.toString()).toContain("/dreamnet.cost.v1.CostService/<Method>");

    const health = await get(`${env.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.body.toString().trim()).toBe("ok");
  });

  it("bundles the browser code into one self-contained ES module, gzipped for browsers that take it", async () => {
    const plain = await get(`${env.url}/dashboard/app.js`);
    expect(plain.status).toBe(200);
    expect(plain.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(plain.headers["cache-control"]).toBe("no-cache");
    const code = plain.body.toString("utf8");
    // Bundled: no bare imports left for the browser to resolve.
    expect(code).not.toMatch(/\bimport\s*["'{*]|\bfrom\s*["'][^./]/);

    const zipped = await get(`${env.url}/dashboard/app.js`, { "accept-encoding": "gzip, deflate, br" });
    expect(zipped.headers["content-encoding"]).toBe("gzip");
    expect(zipped.headers.vary).toBe("accept-encoding");
    expect(zipped.headers.etag).not.toBe(plain.headers.etag);
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
  });

  it("answers 304 when the browser already has the file", async () => {
    for (const file of ["/dashboard/app.js", "/dashboard/dashboard.css", "/dashboard/icon.svg"]) {
      const first = await get(`${env.url}${file}`);
      expect(first.status, file).toBe(200);
      const again = await get(`${env.url}${file}`, { "if-none-match": first.headers.etag ?? "" });
      expect(again.status, file).toBe(304);
      expect(again.body.length, file).toBe(0);
    }
    const page = await get(`${env.url}/`, HTML);
    expect((await get(`${env.url}/`, { ...HTML, "if-none-match": `"other", ${page.headers.etag ?? ""}` })).status).toBe(304);
  });

  it("answers HEAD without a body, refuses other methods, and leaves unknown paths to the 404", async () => {
    const head = await get(`${env.url}/dashboard/dashboard.css`, {}, "HEAD");
    expect(head.status).toBe(200);
    expect(Number(head.headers["content-length"])).toBeGreaterThan(0);
    expect(head.body.length).toBe(0);

    expect((await get(`${env.url}/dashboard/app.js`, {}, "DELETE")).status).toBe(405);
    expect((await get(`${env.url}/dashboard/secret.ts`)).status).toBe(404);
    expect((await get(`${env.url}/dashboard/.app/main.ts`)).status).toBe(404);
  });
});

describe("createDashboard() when the browser code does not build", () => {
  let dir: string;
  let server: http.Server;
  let url: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    // A copy of the dashboard with a syntax error in its entry point.
    dir = mkdtempSync(path.join(tmpdir(), "dashboard-broken-"));
    const source = path.resolve("src/dashboard");
    for (const file of ["index.html", "dashboard.css", "icon.svg"]) cpSync(path.join(source, file), path.join(dir, file));
    cpSync(path.join(source, ".app"), path.join(dir, ".app"), { recursive: true });
    writeFileSync(path.join(dir, ".app", "main.ts"), "export const broken = ;\n");
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    const dashboard = createDashboard({ logger: createLogger("info", sink), sourceDir: dir });
    server = http.createServer((req, res) => {
      if (!dashboard.handle(req, res)) {
        res.writeHead(404);
        res.end();
      }
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("builds nothing before a browser asks", () => {
    expect(logLines).toEqual([]);
  });

  it("answers the page and the script with a 500 that says so, logs the reason, and keeps serving", async () => {
    const page = await get(`${url}/`, HTML);
    expect(page.status).toBe(500);
    expect(page.body.toString()).toContain("could not be built");
    expect((await get(`${url}/dashboard/app.js`)).status).toBe(500);

    const entry = JSON.parse(logLines[0] ?? "{}") as { level?: number; msg?: string; problems?: string[] };
    expect(entry.level).toBe(50);
    expect(entry.msg).toContain("dashboard: bundling the browser code failed");
    expect(entry.problems?.[0]).toMatch(/main\.ts:1:\d+: /);

    // The stylesheet does not depend on the script.
    expect((await get(`${url}/dashboard/dashboard.css`)).status).toBe(200);
  });

  it("picks up a fixed entry point on the next request", async () => {
    writeFileSync(path.join(dir, ".app", "main.ts"), "export const fixed = 1;\n");
    expect((await get(`${url}/dashboard/app.js`)).status).toBe(200);
    expect((await get(`${url}/`, HTML)).status).toBe(200);
  });
});
