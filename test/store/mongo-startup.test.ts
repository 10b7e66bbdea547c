import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { BSON, type Document } from "mongodb";
import { afterEach, describe, expect, it } from "vitest";
import { createMongoCostStore } from "../../src/store/mongo/mongo-cost-store.js";
import { MongoStartupError } from "../../src/store/mongo/mongo-errors.js";

// The start-up checks run the real driver against a tiny fake server that speaks just
// enough of the MongoDB wire protocol (OP_QUERY and OP_MSG, hello and saslStart) to
// play a standalone server or one that refuses the credentials. No MongoDB is needed.

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

/** Answers each command document; the reply gets `ok: 1` unless it says otherwise. */
type Responder = (command: Document) => Document;

function frame(opCode: number, responseTo: number, body: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeInt32LE(16 + body.length, 0);
  header.writeInt32LE(Math.floor(Math.random() * 2 ** 31), 4);
  header.writeInt32LE(responseTo, 8);
  header.writeInt32LE(opCode, 12);
  return Buffer.concat([header, body]);
}

function reply(opCode: number, requestId: number, doc: Document): Buffer {
  const bson = Buffer.from(BSON.serialize(doc));
  if (opCode === OP_QUERY) {
    const head = Buffer.alloc(20);
    head.writeInt32LE(0, 0); // responseFlags
    head.writeBigInt64LE(0n, 4); // cursorID
    head.writeInt32LE(0, 12); // startingFrom
    head.writeInt32LE(1, 16); // numberReturned
    return frame(OP_REPLY, requestId, Buffer.concat([head, bson]));
  }
  const flags = Buffer.alloc(5); // flagBits 0, then a kind-0 section
  return frame(OP_MSG, requestId, Buffer.concat([flags, bson]));
}

/** The command document of an OP_QUERY or OP_MSG message body. */
function commandOf(opCode: number, body: Buffer): Document {
  if (opCode === OP_QUERY) {
    const nameEnd = body.indexOf(0, 4);
    const at = nameEnd + 1 + 8;
    return BSON.deserialize(body.subarray(at, at + body.readInt32LE(at)));
  }
  // OP_MSG: flagBits, then sections; the kind-0 section holds the command.
  let at = 4;
  while (at < body.length) {
    const kind = body[at];
    at += 1;
    const size = body.readInt32LE(at);
    if (kind === 0) return BSON.deserialize(body.subarray(at, at + size));
    at += size;
  }
  throw new Error("OP_MSG without a command");
}

function serve(socket: Socket, respond: Responder): void {
  let pending = Buffer.alloc(0);
  socket.on("data", (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 16 && pending.length >= pending.readInt32LE(0)) {
      const length = pending.readInt32LE(0);
      const requestId = pending.readInt32LE(4);
      const opCode = pending.readInt32LE(12);
      const body = pending.subarray(16, length);
      pending = pending.subarray(length);
      const command = commandOf(opCode, body);
      socket.write(reply(opCode, requestId, { ok: 1, ...respond(command) }));
    }
  });
  socket.on("error", () => {});
}

/** A hello reply of a writable server; a replica set member when `setName` is given. */
function hello(setName?: string): Document {
  return {
    helloOk: true,
    ismaster: true,
    isWritablePrimary: true,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: 1,
    minWireVersion: 0,
    maxWireVersion: 21,
    readOnly: false,
    ...(setName ? { setName, hosts: [], me: "", setVersion: 1 } : {}),
  };
}

const servers: Server[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function fakeMongo(respond: Responder): Promise<string> {
  const server = createServer((socket) => {
    sockets.add(socket);
    serve(socket, respond);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function startupError(options: Parameters<typeof createMongoCostStore>[0]): Promise<MongoStartupError> {
  const outcome = await createMongoCostStore(options).then(
    async (store) => {
      await store.close();
      return undefined;
    },
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(MongoStartupError);
  return outcome as MongoStartupError;
}

describe("createMongoCostStore() start-up checks, with the real driver", () => {
  it("says it cannot reach MongoDB when nothing listens", async () => {
    // Take a free port, then close it, so the connection is refused.
    const host = await fakeMongo(() => ({}));
    await new Promise((resolve) => (servers.pop() as Server).close(resolve));
    const error = await startupError({ uri: `mongodb://${host}/`, database: "cost_core", serverSelectionTimeoutMs: 400 });
    expect(error.reason).toBe("unreachable");
    expect(error.message).toMatch(new RegExp(`^cannot reach MongoDB at ${host.replace(/\./g, "\\.")}: .*ECONNREFUSED`));
  });

  it("refuses a standalone server, pointing at docker-compose.yml", async () => {
    const host = await fakeMongo((command) => (command.hello || command.isMaster || command.ismaster ? hello() : {}));
    const error = await startupError({ uri: `mongodb://${host}/`, database: "cost_core", serverSelectionTimeoutMs: 2_000 });
    expect(error.reason).toBe("standalone");
    expect(error.message).toBe("MongoDB is a standalone server; Cost Core needs a replica set (a single-node one is fine): see docker-compose.yml");
  });

  it("says authentication failed when the server refuses the credentials, without showing the password", async () => {
    const host = await fakeMongo((command) => {
      if (command.hello || command.isMaster || command.ismaster) return hello("rs0");
      if (command.saslStart || command.authenticate) return { ok: 0, errmsg: "Authentication failed.", code: 18, codeName: "AuthenticationFailed" };
      return {};
    });
    const error = await startupError({ uri: `mongodb://cost:hunter2@${host}/?directConnection=true`, database: "cost_core", serverSelectionTimeoutMs: 2_000 });
    expect(error.reason).toBe("authentication");
    expect(error.message).toBe(
      `authentication to MongoDB at ${host} failed: check the user name, password and authSource in COST_CORE_MONGODB_URI (Authentication failed.)`,
    );
    expect(error.message).not.toContain("hunter2");
  });
});
