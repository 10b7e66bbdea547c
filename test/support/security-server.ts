import { fileURLToPath } from "node:url";
import { createClient, Code, ConnectError, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { CostService, type WatchAlertsRequest, type WatchAlertsResponse } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { createKeyRing, generateKey, type KeyEntry } from "../../src/api/auth/api-keys.js";
import type { StreamLimits } from "../../src/api/auth/auth-gate.js";
import type { Scope } from "../../src/api/auth/scopes.js";
import { createCostClient, type CostClient } from "../../src/client/index.js";
import type { AlertFeedOptions } from "../../src/core/alert-feed.js";
import { createCostCore, type CostCore } from "../../src/core/cost-core.js";
import { createSilentLogger } from "../../src/logger.js";
import { startServer, type RunningServer } from "../../src/server.js";
import { createSqliteCostStore } from "../../src/store/sqlite/sqlite-cost-store.js";

/** An API key a test server is started with. */
export interface KeySpec {
  readonly id: string;
  readonly scopes: readonly Scope[];
  /** The clusters the key may touch; absent for all. */
  readonly clusters?: readonly string[];
}

/** A clock the test sets by hand. */
export interface FixedClock {
  now(): number;
  set(ms: number): void;
}

/** How to start a server for the security suites. */
export interface SecurityServerOptions {
  readonly nowMs: number;
  /** API keys; undefined starts the server in development mode (no keys). */
  readonly keys?: readonly KeySpec[] | undefined;
  readonly streamLimits?: Partial<StreamLimits>;
  readonly feed?: Partial<AlertFeedOptions>;
  readonly tls?: { readonly cert: string; readonly key: string };
}

/** How a client presents its key. */
export interface ClientOptions {
  /** The key text to present; undefined sends none. */
  readonly key?: string | undefined;
  readonly protocol?: "grpc" | "connect";
  /** Which header carries the key (default authorization: Bearer). */
  readonly header?: "authorization" | "x-api-key";
  /** Raw headers to send as they are (for malformed ones); replace `key`. */
  readonly rawHeaders?: Readonly<Record<string, string>>;
}

/** A real server on loopback with a SQLite store in memory and keys of the test's choosing. */
export interface SecurityServer {
  readonly url: string;
  readonly port: number;
  readonly clock: FixedClock;
  readonly core: CostCore;
  readonly server: RunningServer;
  /** The presented key text ("<id>.<secret>") of a configured key. */
  key(id: string): string;
  /** The key entries as configured (hashes only). */
  readonly entries: readonly KeyEntry[];
  /** A typed client presenting a key in the chosen header, over gRPC (default) or Connect. */
  client(options?: ClientOptions): CostClient;
  close(): Promise<void>;
}

/** Starts a core and server on 127.0.0.1 (port 0) with the given keys and limits. */
export async function startSecurityServer(options: SecurityServerOptions): Promise<SecurityServer> {
  let nowMs = options.nowMs;
  const clock: FixedClock = { now: () => nowMs, set: (ms) => void (nowMs = ms) };
  const store = createSqliteCostStore({ path: ":memory:" });
  const core = createCostCore({ store, clock, ...(options.feed ? { feed: options.feed } : {}) });
  const generated = (options.keys ?? []).map((spec) => ({ spec, ...generateKey(spec.id, spec.scopes, spec.clusters) }));
  const entries = generated.map((g) => g.entry);
  const server = await startServer(core, createSilentLogger(), {
    host: "127.0.0.1",
    port: 0,
    shutdownGraceMs: 300,
    keyRing: options.keys ? createKeyRing(entries) : undefined,
    ...(options.streamLimits ? { streamLimits: options.streamLimits } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  return {
    url: server.url,
    port: server.port,
    clock,
    core,
    server,
    entries,
    key(id) {
      const found = generated.find((g) => g.spec.id === id);
      if (!found) throw new Error(`no key ${id} configured`);
      return found.key;
    },
    client(clientOptions = {}) {
      // The shipped client covers the usual case (authorization: Bearer); the rest need their own headers.
      if (clientOptions.rawHeaders === undefined && clientOptions.header !== "x-api-key") {
        return createCostClient({ baseUrl: server.url, protocol: clientOptions.protocol ?? "grpc", apiKey: clientOptions.key });
      }
      return createClient(CostService, securityTransport(server.url, clientOptions));
    },
    async close() {
      await server.close();
      await core.close();
    },
  };
}

/** An interceptor that sets fixed request headers. */
export function headersInterceptor(headers: Readonly<Record<string, string>>): Interceptor {
  return (next) => (request) => {
    for (const [name, value] of Object.entries(headers)) request.header.set(name, value);
    return next(request);
  };
}

/** The headers that present `key` in the way `options` asks. */
export function keyHeaders(options: ClientOptions): Record<string, string> {
  if (options.rawHeaders) return { ...options.rawHeaders };
  if (options.key === undefined) return {};
  return options.header === "x-api-key" ? { "x-api-key": options.key } : { authorization: `Bearer ${options.key}` };
}

/** A transport to `baseUrl` sending the key headers of `options`. */
export function securityTransport(baseUrl: string, options: ClientOptions, nodeOptions?: { ca: string }): Transport {
  const interceptors = [headersInterceptor(keyHeaders(options))];
  return options.protocol === "connect"
    ? createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors, ...(nodeOptions ? { nodeOptions } : {}) })
    : createGrpcTransport({ baseUrl, interceptors, ...(nodeOptions ? { nodeOptions } : {}) });
}

/** "OK" when the call succeeds, else the gRPC code name it failed with (e.g. "PERMISSION_DENIED"). */
export async function outcomeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "OK";
  } catch (error) {
    return codeName(ConnectError.from(error).code);
  }
}

/** The canonical gRPC name of a code: Code.PermissionDenied is "PERMISSION_DENIED". */
export function codeName(code: Code): string {
  const name: string | undefined = Code[code];
  if (name === undefined) return `CODE_${code}`;
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/** The first message of a WatchAlerts stream (the stream is then cancelled); undefined when it ends empty. */
export async function firstWatchMessage(client: CostClient, request: Partial<Pick<WatchAlertsRequest, "clusterId" | "resumeAfter" | "includeActive">>): Promise<WatchAlertsResponse | undefined> {
  const abort = new AbortController();
  try {
    for await (const message of client.watchAlerts(request, { signal: abort.signal })) return message;
    return undefined;
  } finally {
    abort.abort();
  }
}

const protoRoot = fileURLToPath(new URL("../../proto", import.meta.url));

type GrpcMethod = protoLoader.MethodDefinition<object, object>;

function loadService(file: string, name: string): Record<string, GrpcMethod> {
  const definitions = protoLoader.loadSync(file, { includeDirs: [protoRoot], keepCase: true, enums: String, longs: String, defaults: true, oneofs: true });
  const service = definitions[name];
  if (service === undefined || "format" in service) throw new Error(`${name} not found in ${file}`);
  return service as Record<string, GrpcMethod>;
}

function grpcMethod(service: Record<string, GrpcMethod>, name: string): GrpcMethod {
  const found = service[name];
  if (!found) throw new Error(`no method ${name}`);
  return found;
}

/** A grpc-js client (no key, no protobuf-es) for health checking and reflection. */
export interface GrpcJsProbe {
  /** grpc.health.v1.Health/Check: the status name, or the error code name. */
  healthCheck(service?: string): Promise<string>;
  /** grpc.reflection.v1 list_services: the service names, or the error code name. */
  listServices(): Promise<string[] | string>;
  close(): void;
}

/** Opens a grpc-js channel to a server URL ("http://127.0.0.1:1234"). */
export function createGrpcJsProbe(url: string): GrpcJsProbe {
  const health = loadService("grpc/health/v1/health.proto", "grpc.health.v1.Health");
  const reflection = loadService("grpc/reflection/v1/reflection.proto", "grpc.reflection.v1.ServerReflection");
  const client = new grpc.Client(new URL(url).host, grpc.credentials.createInsecure());
  const statusName = (error: unknown): string => {
    const code = typeof error === "object" && error !== null && "code" in error ? Number((error as { code: unknown }).code) : 2;
    return codeName(code as Code);
  };
  return {
    healthCheck(service = "") {
      const rpc = grpcMethod(health, "Check");
      return new Promise((resolve) => {
        client.makeUnaryRequest(rpc.path, rpc.requestSerialize, rpc.responseDeserialize, { service }, { deadline: Date.now() + 5_000 }, (error, response) =>
          resolve(error ? statusName(error) : String((response as { status?: unknown }).status)),
        );
      });
    },
    async listServices() {
      const rpc = grpcMethod(reflection, "ServerReflectionInfo");
      const call = client.makeBidiStreamRequest(rpc.path, rpc.requestSerialize, rpc.responseDeserialize, new grpc.Metadata(), { deadline: Date.now() + 5_000 });
      call.write({ host: "", list_services: "" });
      call.end();
      try {
        const names: string[] = [];
        for await (const response of call as AsyncIterable<{ list_services_response?: { service?: { name: string }[] } }>) {
          for (const s of response.list_services_response?.service ?? []) names.push(s.name);
        }
        return names;
      } catch (error) {
        return statusName(error);
      }
    },
    close: () => client.close(),
  };
}

/** Retries `attempt` until it returns true (e.g. a slot freed when the server sees a cancel), up to `timeoutMs`. */
export async function eventually(attempt: () => Promise<boolean>, timeoutMs = 3_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await attempt()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

