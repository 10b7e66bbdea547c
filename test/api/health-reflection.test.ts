import { execFile } from "node:child_process";
import http2 from "node:http2";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CostService } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import type { HealthStatus } from "../../src/api/health.js";
import { createHealthStatus, registerHealthService } from "../../src/api/health.js";
import { registerReflectionService } from "../../src/api/reflection.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const bufBinary = path.join(repoRoot, "node_modules", ".bin", "buf");
const costService = "dreamnet.cost.v1.CostService";

type Method = protoLoader.MethodDefinition<object, object>;

/** Loads one service with proto-loader, i.e. with a protobuf stack independent of ours. */
function loadMethods(protoFile: string, serviceName: string): protoLoader.ServiceDefinition {
  const definitions = protoLoader.loadSync(protoFile, {
    includeDirs: [path.join(repoRoot, "proto")],
    keepCase: true,
    enums: String,
    longs: String,
    defaults: true,
    oneofs: true,
  });
  const service = definitions[serviceName];
  if (service === undefined || "format" in service) {
    throw new Error(`${serviceName} is not a service in ${protoFile}`);
  }
  return service;
}

function method(service: protoLoader.ServiceDefinition, name: string): Method {
  const found = service[name];
  if (found === undefined) {
    throw new Error(`no method ${name}`);
  }
  return found;
}

function unary(client: grpc.Client, rpc: Method, request: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(rpc.path, rpc.requestSerialize, rpc.responseDeserialize, request, (error, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

/** Sends all requests on one reflection stream and collects every response. */
async function reflect(client: grpc.Client, rpc: Method, requests: readonly object[]): Promise<unknown[]> {
  const call = client.makeBidiStreamRequest(rpc.path, rpc.requestSerialize, rpc.responseDeserialize);
  for (const request of requests) {
    call.write(request);
  }
  call.end();
  const responses: unknown[] = [];
  for await (const response of call as AsyncIterable<unknown>) {
    responses.push(response);
  }
  return responses;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Decodes the FileDescriptorProtos of a file_descriptor_response into their file names. */
function describedFiles(response: unknown): string[] {
  const fileResponse = isRecord(response) ? response["file_descriptor_response"] : undefined;
  const files: unknown = isRecord(fileResponse) ? fileResponse["file_descriptor_proto"] : undefined;
  if (!Array.isArray(files)) {
    throw new Error(`not a file_descriptor_response: ${JSON.stringify(response)}`);
  }
  return files.map((bytes: unknown) => {
    if (!(bytes instanceof Uint8Array)) {
      throw new Error("file_descriptor_proto entry is not bytes");
    }
    return fromBinary(FileDescriptorProtoSchema, bytes).name;
  });
}

describe("health and reflection over gRPC", () => {
  const status = createHealthStatus();
  // Counts open Watch subscriptions, to see that a cancelled Watch lets go of its listener.
  let activeWatches = 0;
  const observedStatus: HealthStatus = {
    ...status,
    subscribe(service, listener) {
      activeWatches++;
      const unsubscribe = status.subscribe(service, listener);
      return () => {
        activeWatches--;
        unsubscribe();
      };
    },
  };

  const server = http2.createServer(
    connectNodeAdapter({
      routes(router: ConnectRouter) {
        registerHealthService(router, observedStatus);
        registerReflectionService(router, [CostService, Health]);
      },
    }),
  );
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });

  const health = loadMethods("grpc/health/v1/health.proto", "grpc.health.v1.Health");
  const reflectionV1 = loadMethods("grpc/reflection/v1/reflection.proto", "grpc.reflection.v1.ServerReflection");
  const reflectionV1Alpha = loadMethods(
    "grpc/reflection/v1alpha/reflection.proto",
    "grpc.reflection.v1alpha.ServerReflection",
  );

  let port = 0;
  let client: grpc.Client;

  beforeAll(async () => {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const address = server.address();
    if (address === null || typeof address === "string") {
      throw new Error("server is not listening on TCP");
    }
    port = address.port;
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    // http2 close() waits for open sessions; nothing else will end them in a test run.
    for (const session of sessions) {
      session.destroy();
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  describe("grpc.health.v1.Health", () => {
    it("reports the whole server as SERVING", async () => {
      status.set("", ServingStatus.SERVING);
      await expect(unary(client, method(health, "Check"), { service: "" })).resolves.toEqual({ status: "SERVING" });
    });

    it("answers NOT_FOUND for a service it does not know", async () => {
      await expect(unary(client, method(health, "Check"), { service: "nope" })).rejects.toMatchObject({
        code: grpc.status.NOT_FOUND,
      });
    });

    it("reports NOT_SERVING once the status is set so", async () => {
      status.set("", ServingStatus.NOT_SERVING);
      await expect(unary(client, method(health, "Check"), { service: "" })).resolves.toEqual({
        status: "NOT_SERVING",
      });
    });

    it("lists every known service with its status", async () => {
      status.set("", ServingStatus.SERVING);
      status.set(costService, ServingStatus.NOT_SERVING);
      await expect(unary(client, method(health, "List"), {})).resolves.toEqual({
        statuses: { "": { status: "SERVING" }, [costService]: { status: "NOT_SERVING" } },
      });
    });

    it("streams the current status and then each change through Watch, until cancelled", async () => {
      status.set("", ServingStatus.SERVING);
      const rpc = method(health, "Watch");
      const call = client.makeServerStreamRequest(rpc.path, rpc.requestSerialize, rpc.responseDeserialize, {
        service: "",
      });
      // Our own cancel() surfaces as an error event; without a listener it would be thrown.
      call.on("error", () => undefined);
      const messages: AsyncIterator<unknown> = (call as AsyncIterable<unknown>)[Symbol.asyncIterator]();

      expect((await messages.next()).value).toEqual({ status: "SERVING" });
      status.set("", ServingStatus.NOT_SERVING);
      expect((await messages.next()).value).toEqual({ status: "NOT_SERVING" });

      expect(activeWatches).toBe(1);
      call.cancel();
      await vi.waitFor(() => expect(activeWatches).toBe(0));
    });

    it("keeps watching an unknown service and reports it once it appears", async () => {
      const rpc = method(health, "Watch");
      const call = client.makeServerStreamRequest(rpc.path, rpc.requestSerialize, rpc.responseDeserialize, {
        service: "late.v1.Service",
      });
      call.on("error", () => undefined);
      const messages: AsyncIterator<unknown> = (call as AsyncIterable<unknown>)[Symbol.asyncIterator]();

      expect((await messages.next()).value).toEqual({ status: "SERVICE_UNKNOWN" });
      status.set("late.v1.Service", ServingStatus.SERVING);
      expect((await messages.next()).value).toEqual({ status: "SERVING" });

      call.cancel();
      await vi.waitFor(() => expect(activeWatches).toBe(0));
    });
  });

  describe("grpc.reflection.v1.ServerReflection", () => {
    it("lists CostService, Health and the reflection services", async () => {
      const [response] = await reflect(client, method(reflectionV1, "ServerReflectionInfo"), [
        { host: "example", list_services: "*" },
      ]);
      expect(response).toMatchObject({
        valid_host: "example",
        original_request: { host: "example", list_services: "*" },
        list_services_response: {
          service: expect.arrayContaining([
            { name: costService },
            { name: "grpc.health.v1.Health" },
            { name: "grpc.reflection.v1.ServerReflection" },
            { name: "grpc.reflection.v1alpha.ServerReflection" },
          ]),
        },
      });
    });

    it("returns the file of a service symbol followed by all its transitive imports", async () => {
      const [response] = await reflect(client, method(reflectionV1, "ServerReflectionInfo"), [
        { file_containing_symbol: costService },
      ]);
      const files = describedFiles(response);
      expect(files[0]).toBe("dreamnet/cost/v1/cost_service.proto");
      expect(files).toEqual(
        expect.arrayContaining(["dreamnet/cost/v1/money.proto", "google/protobuf/timestamp.proto"]),
      );
      expect(new Set(files).size).toBe(files.length);
    });

    it("finds the files of methods, nested messages and enums, and files by name", async () => {
      const responses = await reflect(client, method(reflectionV1, "ServerReflectionInfo"), [
        { file_containing_symbol: `${costService}.RecordCost` },
        { file_containing_symbol: "grpc.health.v1.HealthCheckResponse.ServingStatus" },
        { file_containing_symbol: "grpc.health.v1.HealthCheckResponse.status" },
        { file_by_filename: "google/protobuf/timestamp.proto" },
      ]);
      expect(responses.map((response) => describedFiles(response)[0])).toEqual([
        "dreamnet/cost/v1/cost_service.proto",
        "grpc/health/v1/health.proto",
        "grpc/health/v1/health.proto",
        "google/protobuf/timestamp.proto",
      ]);
    });

    it("answers unknown symbols with error_response code 5 and keeps the stream usable", async () => {
      const responses = await reflect(client, method(reflectionV1, "ServerReflectionInfo"), [
        { file_containing_symbol: "nope.v1.Nothing" },
        { file_by_filename: "nope.proto" },
        { file_containing_extension: { containing_type: "google.protobuf.Timestamp", extension_number: 1000 } },
        { all_extension_numbers_of_type: "nope.v1.Nothing" },
        { list_services: "" },
      ]);
      expect(responses).toHaveLength(5);
      for (const response of responses.slice(0, 4)) {
        expect(response).toMatchObject({ error_response: { error_code: grpc.status.NOT_FOUND } });
      }
      expect(responses[4]).toMatchObject({ message_response: "list_services_response" });
    });

    it("reports no extension numbers for a known message without extensions", async () => {
      const [response] = await reflect(client, method(reflectionV1, "ServerReflectionInfo"), [
        { all_extension_numbers_of_type: "google.protobuf.Timestamp" },
      ]);
      expect(response).toMatchObject({
        all_extension_numbers_response: { base_type_name: "google.protobuf.Timestamp", extension_number: [] },
      });
    });
  });

  describe("grpc.reflection.v1alpha.ServerReflection", () => {
    it("lists CostService through the older protocol version", async () => {
      const [response] = await reflect(client, method(reflectionV1Alpha, "ServerReflectionInfo"), [
        { list_services: "*" },
      ]);
      expect(response).toMatchObject({
        list_services_response: { service: expect.arrayContaining([{ name: costService }]) },
      });
    });
  });

  describe("buf curl", () => {
    it("lists CostService methods through reflection alone", async () => {
      const { stdout } = await promisify(execFile)(
        bufBinary,
        ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", `http://127.0.0.1:${port}`],
        { timeout: 30_000 },
      );
      expect(stdout.split("\n")).toContain(`${costService}/RecordCost`);
    }, 40_000);
  });
});
