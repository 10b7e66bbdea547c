import type { DescEnum, DescExtension, DescFile, DescMessage, DescService } from "@bufbuild/protobuf";
import { toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import { ServerReflection as ServerReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1Alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/**
 * The part of a ServerReflectionRequest we read. v1 and v1alpha requests both fit it,
 * which is what lets a single implementation serve both versions.
 */
interface ReflectionRequest {
  readonly host: string;
  readonly messageRequest:
    | {
        readonly case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices";
        readonly value: string;
      }
    | {
        readonly case: "fileContainingExtension";
        readonly value: { readonly containingType: string; readonly extensionNumber: number };
      }
    | { readonly case: undefined; readonly value?: undefined };
}

/** The message_response oneof as plain init data, accepted by both versions' response schemas. */
type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/** Everything the reflection service can answer, indexed by the keys clients ask with. */
interface DescriptorIndex {
  readonly serviceNames: readonly string[];
  readonly filesByName: ReadonlyMap<string, DescFile>;
  readonly filesBySymbol: ReadonlyMap<string, DescFile>;
  readonly messageNames: ReadonlySet<string>;
  readonly extensionsByExtendee: ReadonlyMap<string, ReadonlyMap<number, DescExtension>>;
}

/** Adds grpc.reflection.v1 and v1alpha ServerReflection, advertising `services` and the reflection services themselves. */
export function registerReflectionService(router: ConnectRouter, services: readonly DescService[]): void {
  const index = createDescriptorIndex([...services, ServerReflectionV1, ServerReflectionV1Alpha]);
  const serverReflectionInfo = createReflectionInfo(createAnswerer(index));
  router.service(ServerReflectionV1, { serverReflectionInfo });
  router.service(ServerReflectionV1Alpha, { serverReflectionInfo });
}

/**
 * Builds the bidi handler. It is generic over the request type so that it type-checks as the
 * implementation of either version, and it echoes the request it got as `original_request`.
 */
function createReflectionInfo(answer: (request: ReflectionRequest["messageRequest"]) => ReflectionAnswer) {
  return async function* <Request extends ReflectionRequest>(requests: AsyncIterable<Request>) {
    for await (const request of requests) {
      yield {
        validHost: request.host,
        originalRequest: request,
        messageResponse: answer(request.messageRequest),
      };
    }
  };
}

/** Maps one request to its answer; lookup misses become error responses so the stream stays usable. */
function createAnswerer(index: DescriptorIndex): (request: ReflectionRequest["messageRequest"]) => ReflectionAnswer {
  const encoded = new Map<DescFile, Uint8Array>();
  const encode = (file: DescFile): Uint8Array => {
    let bytes = encoded.get(file);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      encoded.set(file, bytes);
    }
    return bytes;
  };
  const filesAnswer = (file: DescFile | undefined, missing: string): ReflectionAnswer =>
    file === undefined
      ? notFound(missing)
      : { case: "fileDescriptorResponse", value: { fileDescriptorProto: withDependencies(file).map(encode) } };

  return (request) => {
    switch (request.case) {
      case "listServices":
        return {
          case: "listServicesResponse",
          value: { service: index.serviceNames.map((name) => ({ name })) },
        };
      case "fileByFilename":
        return filesAnswer(index.filesByName.get(request.value), `file "${request.value}" not found`);
      case "fileContainingSymbol":
        return filesAnswer(index.filesBySymbol.get(request.value), `symbol "${request.value}" not found`);
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = request.value;
        const extension = index.extensionsByExtendee.get(containingType)?.get(extensionNumber);
        return filesAnswer(extension?.file, `extension ${extensionNumber} of "${containingType}" not found`);
      }
      case "allExtensionNumbersOfType": {
        if (!index.messageNames.has(request.value)) {
          return notFound(`message type "${request.value}" not found`);
        }
        const numbers = [...(index.extensionsByExtendee.get(request.value)?.keys() ?? [])];
        return {
          case: "allExtensionNumbersResponse",
          value: { baseTypeName: request.value, extensionNumber: numbers.sort((a, b) => a - b) },
        };
      }
      case undefined:
        return {
          case: "errorResponse",
          value: { errorCode: Code.InvalidArgument, errorMessage: "message_request is not set" },
        };
    }
  };
}

/** A NOT_FOUND error response; Connect's Code numbers are the gRPC status codes. */
function notFound(errorMessage: string): ReflectionAnswer {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage } };
}

/** The file followed by its transitive imports, each once, so a client can build a complete pool. */
function withDependencies(file: DescFile): DescFile[] {
  const seen = new Set<string>();
  const ordered: DescFile[] = [];
  const visit = (current: DescFile): void => {
    if (seen.has(current.proto.name)) {
      return;
    }
    seen.add(current.proto.name);
    ordered.push(current);
    current.dependencies.forEach(visit);
  };
  visit(file);
  return ordered;
}

/** Indexes the files of the given services and of everything they import. */
function createDescriptorIndex(services: readonly DescService[]): DescriptorIndex {
  const filesByName = new Map<string, DescFile>();
  const filesBySymbol = new Map<string, DescFile>();
  const messageNames = new Set<string>();
  const extensionsByExtendee = new Map<string, Map<number, DescExtension>>();

  const addSymbol = (name: string, file: DescFile): void => {
    // First definition wins, matching how a descriptor pool rejects duplicates.
    if (!filesBySymbol.has(name)) {
      filesBySymbol.set(name, file);
    }
  };
  const addExtension = (extension: DescExtension): void => {
    addSymbol(extension.typeName, extension.file);
    let byNumber = extensionsByExtendee.get(extension.extendee.typeName);
    if (byNumber === undefined) {
      byNumber = new Map();
      extensionsByExtendee.set(extension.extendee.typeName, byNumber);
    }
    if (!byNumber.has(extension.number)) {
      byNumber.set(extension.number, extension);
    }
  };
  const addEnum = (desc: DescEnum): void => {
    addSymbol(desc.typeName, desc.file);
    // Enum values are scoped next to their enum, not inside it (C++ scoping rules).
    const scope = desc.typeName.includes(".") ? desc.typeName.slice(0, desc.typeName.lastIndexOf(".") + 1) : "";
    for (const value of desc.values) {
      addSymbol(scope + value.name, desc.file);
    }
  };
  const addMessage = (desc: DescMessage): void => {
    addSymbol(desc.typeName, desc.file);
    messageNames.add(desc.typeName);
    for (const field of desc.fields) {
      addSymbol(`${desc.typeName}.${field.name}`, desc.file);
    }
    for (const oneof of desc.oneofs) {
      addSymbol(`${desc.typeName}.${oneof.name}`, desc.file);
    }
    desc.nestedMessages.forEach(addMessage);
    desc.nestedEnums.forEach(addEnum);
    desc.nestedExtensions.forEach(addExtension);
  };
  const addFile = (file: DescFile): void => {
    if (filesByName.has(file.proto.name)) {
      return;
    }
    filesByName.set(file.proto.name, file);
    file.dependencies.forEach(addFile);
    for (const service of file.services) {
      addSymbol(service.typeName, file);
      for (const method of service.methods) {
        addSymbol(`${service.typeName}.${method.name}`, file);
      }
    }
    file.messages.forEach(addMessage);
    file.enums.forEach(addEnum);
    file.extensions.forEach(addExtension);
  };

  services.forEach((service) => addFile(service.file));
  return {
    serviceNames: [...new Set(services.map((service) => service.typeName))],
    filesByName,
    filesBySymbol,
    messageNames,
    extensionsByExtendee,
  };
}
