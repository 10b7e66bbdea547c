import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CostService, RecordOutcome } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { MINUTE, NOW, costRecord } from "../support/records.js";
import { outcomeOf, securityTransport, startSecurityServer, type SecurityServer } from "../support/security-server.js";

/** A self-signed certificate for localhost and 127.0.0.1, made with openssl for this run only. */
function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const keyFile = path.join(dir, "key.pem");
  const certFile = path.join(dir, "cert.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "1", "-keyout", keyFile, "-out", certFile],
    { stdio: "ignore" },
  );
  return { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") };
}

/** The protocol ALPN settles on when a client offers only `protocols`. */
function negotiate(port: number, ca: string, protocols: string[]): Promise<string | false> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca, servername: "localhost", ALPNProtocols: protocols }, () => {
      const chosen = socket.alpnProtocol ?? false;
      socket.end();
      resolve(chosen);
    });
    socket.on("error", reject);
  });
}

describe("TLS: gRPC over HTTP/2 and Connect over HTTP/1.1 on one port, chosen by ALPN", () => {
  let dir: string;
  let cert: string;
  let env: SecurityServer;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "cost-core-tls-"));
    const pair = selfSignedCertificate(dir);
    cert = pair.cert;
    env = await startSecurityServer({ nowMs: NOW, keys: [{ id: "admin", scopes: ["admin"] }], tls: pair });
  });

  afterAll(async () => {
    await env?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves on an https URL", () => {
    expect(env.url).toBe(`https://127.0.0.1:${env.port}`);
  });

  it("answers a gRPC call over HTTP/2 from a client trusting the certificate", async () => {
    const client = createClient(CostService, securityTransport(env.url, { protocol: "grpc", key: env.key("admin") }, { ca: cert }));
    const response = await client.recordCost({ record: costRecord({ id: "tls-grpc", clusterId: "TLS", atMs: NOW - MINUTE }) });
    expect(response.outcome).toBe(RecordOutcome.ACCEPTED);
    expect((await client.getCostSummary({ clusterId: "TLS" })).summary?.clusterId).toBe("TLS");
  });

  it("answers a Connect call over HTTP/1.1 from a client trusting the certificate", async () => {
    const client = createClient(CostService, securityTransport(env.url, { protocol: "connect", key: env.key("admin") }, { ca: cert }));
    const response = await client.recordCost({ record: costRecord({ id: "tls-connect", clusterId: "TLS", atMs: NOW - MINUTE }) });
    expect(response.outcome).toBe(RecordOutcome.ACCEPTED);
    const summary = (await client.getCostSummary({ clusterId: "TLS" })).summary;
    expect(summary?.currencies[0]?.recordCount).toBe(2n);
  });

  it("still asks for a key over TLS", async () => {
    for (const protocol of ["grpc", "connect"] as const) {
      const client = createClient(CostService, securityTransport(env.url, { protocol }, { ca: cert }));
      expect(await outcomeOf(client.getCostSummary({ clusterId: "TLS" }))).toBe("UNAUTHENTICATED");
    }
  });

  it("fails the handshake for a client that does not trust the certificate", async () => {
    const client = createClient(CostService, securityTransport(env.url, { protocol: "grpc", key: env.key("admin") }));
    const outcome = await outcomeOf(client.getCostSummary({ clusterId: "TLS" }));
    expect(outcome).not.toBe("OK");
  });

  it("negotiates h2 for a client offering h2 and http/1.1 for one offering http/1.1", async () => {
    expect(await negotiate(env.port, cert, ["h2"])).toBe("h2");
    expect(await negotiate(env.port, cert, ["http/1.1"])).toBe("http/1.1");
    expect(await negotiate(env.port, cert, ["h2", "http/1.1"])).toBe("h2");
  });

  it("does not speak cleartext on the TLS port", async () => {
    const outcome = await fetch(`http://127.0.0.1:${env.port}/healthz`).then(
      (response) => `HTTP ${response.status}`,
      () => "refused",
    );
    expect(outcome).not.toBe("HTTP 200");
  });
});
