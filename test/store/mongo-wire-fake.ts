import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { BSON, type Document } from "mongodb";
import { Aggregator, find, update } from "mingo";

// A stand-in for a MongoDB replica set member, for tests only: it speaks enough of the
// wire protocol (OP_QUERY for the first handshake, OP_MSG after) for the official
// driver, and answers the commands the Cost Core adapter sends (find, aggregate,
// insert, update, delete, findAndModify, createIndexes, transactions) with mingo over
// in-memory collections. What it is not: transactions are accepted but not isolated
// or rolled back, there are no change streams, and mingo stands in for MongoDB's
// query engine. It shows the adapter's use of the driver and BSON, not MongoDB itself.

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

type Doc = Record<string, unknown>;

/** A running fake; `uri` connects to it directly. */
export interface FakeMongo {
  readonly uri: string;
  /** Commands received, by name, for assertions. */
  readonly commands: Map<string, number>;
  close(): Promise<void>;
}

class CommandError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
  ) {
    super(message);
  }
}

function keyOf(id: unknown): string {
  return JSON.stringify(id);
}

/** The fields a MongoDB upsert copies from its filter: plain equalities on top-level fields. */
function equalityFields(filter: Doc): Doc {
  const out: Doc = {};
  for (const [field, value] of Object.entries(filter)) {
    if (field.startsWith("$")) continue;
    const isOperator = typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).some((k) => k.startsWith("$"));
    if (!isOperator) out[field] = value;
  }
  return out;
}

function isReplacement(change: Doc): boolean {
  return !Object.keys(change).some((k) => k.startsWith("$"));
}

class Collection {
  readonly docs = new Map<string, Doc>();
  readonly unique: string[] = [];

  all(): Doc[] {
    return [...this.docs.values()];
  }

  matching(filter: Doc, sort?: Doc): Doc[] {
    let cursor = find(this.all(), filter);
    if (sort && Object.keys(sort).length > 0) cursor = cursor.sort(sort as Record<string, 1 | -1>);
    // The stored objects themselves, so updates change them in place.
    return cursor.all().map((doc) => this.docs.get(keyOf(doc._id)) as Doc);
  }

  private checkUnique(doc: Doc, except?: Doc): void {
    for (const field of this.unique) {
      for (const other of this.docs.values()) {
        if (other !== except && other[field] !== undefined && other[field] === doc[field]) {
          throw new CommandError(11000, "DuplicateKey", `E11000 duplicate key error index: ${field}_1 dup key: { ${field}: ${JSON.stringify(doc[field])} }`);
        }
      }
    }
  }

  insert(doc: Doc): void {
    if (doc._id === undefined) doc._id = new BSON.ObjectId();
    if (this.docs.has(keyOf(doc._id))) throw new CommandError(11000, "DuplicateKey", `E11000 duplicate key error index: _id_ dup key: { _id: ${JSON.stringify(doc._id)} }`);
    this.checkUnique(doc);
    this.docs.set(keyOf(doc._id), doc);
  }

  /** Applies an update or a replacement to a stored document. */
  modify(doc: Doc, change: Doc): void {
    if (isReplacement(change)) {
      const id = doc._id;
      for (const key of Object.keys(doc)) delete doc[key];
      Object.assign(doc, change, { _id: id });
    } else {
      update(doc, change as Parameters<typeof update>[1]);
    }
    this.checkUnique(doc, doc);
  }

  /** Creates the document an upsert inserts: the filter's equalities, then the update. */
  upsert(filter: Doc, change: Doc): Doc {
    const doc: Doc = isReplacement(change) ? { ...change, _id: filter._id ?? change._id } : equalityFields(filter);
    if (!isReplacement(change)) update(doc, change as Parameters<typeof update>[1]);
    this.insert(doc);
    return doc;
  }
}

class Engine {
  private readonly databases = new Map<string, Map<string, Collection>>();

  collection(db: string, name: string): Collection {
    let database = this.databases.get(db);
    if (!database) this.databases.set(db, (database = new Map()));
    let collection = database.get(name);
    if (!collection) database.set(name, (collection = new Collection()));
    return collection;
  }

  names(db: string): string[] {
    return [...(this.databases.get(db)?.keys() ?? [])];
  }

  run(command: Doc, port: number): Doc {
    const name = Object.keys(command)[0] ?? "";
    const db = String(command.$db ?? "admin");
    const target = (): Collection => this.collection(db, String(command[name]));
    const cursor = (batch: Doc[]): Doc => ({ cursor: { id: 0n, ns: `${db}.${String(command[name])}`, firstBatch: batch } });
    switch (name.toLowerCase()) {
      case "hello":
      case "ismaster":
        return {
          helloOk: true,
          ismaster: true,
          isWritablePrimary: true,
          setName: "rs0",
          setVersion: 1,
          hosts: [`127.0.0.1:${port}`],
          primary: `127.0.0.1:${port}`,
          me: `127.0.0.1:${port}`,
          maxBsonObjectSize: 16 * 1024 * 1024,
          maxMessageSizeBytes: 48_000_000,
          maxWriteBatchSize: 100_000,
          localTime: new Date(),
          logicalSessionTimeoutMinutes: 30,
          connectionId: 1,
          minWireVersion: 0,
          maxWireVersion: 21,
          readOnly: false,
        };
      case "listcollections":
        return { cursor: { id: 0n, ns: `${db}.$cmd.listCollections`, firstBatch: this.names(db).map((n) => ({ name: n, type: "collection" })) } };
      case "create":
        if (this.names(db).includes(String(command.create))) throw new CommandError(48, "NamespaceExists", "Collection already exists");
        target();
        return {};
      case "createindexes": {
        const collection = target();
        for (const index of command.indexes as { key: Doc; unique?: boolean }[]) {
          const fields = Object.keys(index.key);
          if (index.unique && fields.length === 1 && !collection.unique.includes(fields[0] as string)) collection.unique.push(fields[0] as string);
        }
        return {};
      }
      case "find": {
        let docs = target().matching((command.filter as Doc) ?? {}, command.sort as Doc | undefined);
        if (typeof command.limit === "number" && command.limit !== 0) docs = docs.slice(0, Math.abs(command.limit));
        const projection = command.projection as Doc | undefined;
        return cursor(projection ? find(docs, {}, projection).all() : docs);
      }
      case "aggregate":
        return cursor(new Aggregator(command.pipeline as Doc[]).run(target().all()) as Doc[]);
      case "insert": {
        const collection = target();
        const writeErrors: Doc[] = [];
        let n = 0;
        for (const [index, doc] of (command.documents as Doc[]).entries()) {
          try {
            collection.insert(doc);
            n++;
          } catch (error) {
            if (!(error instanceof CommandError)) throw error;
            writeErrors.push({ index, code: error.code, errmsg: error.message });
            if (command.ordered !== false) break;
          }
        }
        return writeErrors.length ? { n, writeErrors } : { n };
      }
      case "update": {
        const collection = target();
        let n = 0;
        let nModified = 0;
        const upserted: Doc[] = [];
        for (const [index, u] of (command.updates as { q: Doc; u: Doc; upsert?: boolean; multi?: boolean }[]).entries()) {
          const matches = collection.matching(u.q);
          if (matches.length === 0) {
            if (u.upsert) {
              upserted.push({ index, _id: collection.upsert(u.q, u.u)._id });
              n++;
            }
            continue;
          }
          for (const doc of u.multi ? matches : matches.slice(0, 1)) {
            collection.modify(doc, u.u);
            n++;
            nModified++;
          }
        }
        return upserted.length ? { n, nModified, upserted } : { n, nModified };
      }
      case "delete": {
        const collection = target();
        let n = 0;
        for (const d of command.deletes as { q: Doc; limit: number }[]) {
          const matches = collection.matching(d.q);
          for (const doc of d.limit === 1 ? matches.slice(0, 1) : matches) {
            collection.docs.delete(keyOf(doc._id));
            n++;
          }
        }
        return { n };
      }
      case "findandmodify": {
        const collection = target();
        const [doc] = collection.matching((command.query as Doc) ?? {}, command.sort as Doc | undefined);
        if (command.remove) {
          if (doc) collection.docs.delete(keyOf(doc._id));
          return { lastErrorObject: { n: doc ? 1 : 0 }, value: doc ?? null };
        }
        const change = command.update as Doc;
        if (!doc) {
          if (!command.upsert) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null };
          const created = collection.upsert((command.query as Doc) ?? {}, change);
          return { lastErrorObject: { n: 1, updatedExisting: false, upserted: created._id }, value: command.new ? structuredClone(created) : null };
        }
        const before = structuredClone(doc);
        collection.modify(doc, change);
        return { lastErrorObject: { n: 1, updatedExisting: true }, value: command.new ? doc : before };
      }
      case "committransaction":
      case "aborttransaction":
      case "endsessions":
      case "killcursors":
      case "ping":
        return {};
      default:
        throw new CommandError(59, "CommandNotFound", `no such command: '${name}'`);
    }
  }
}

function frame(opCode: number, responseTo: number, body: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeInt32LE(16 + body.length, 0);
  header.writeInt32LE(0, 4);
  header.writeInt32LE(responseTo, 8);
  header.writeInt32LE(opCode, 12);
  return Buffer.concat([header, body]);
}

function encodeReply(opCode: number, requestId: number, doc: Document): Buffer {
  const bson = Buffer.from(BSON.serialize(doc, { ignoreUndefined: true }));
  if (opCode === OP_QUERY) {
    const head = Buffer.alloc(20);
    head.writeInt32LE(1, 16); // numberReturned
    return frame(OP_REPLY, requestId, Buffer.concat([head, bson]));
  }
  return frame(OP_MSG, requestId, Buffer.concat([Buffer.alloc(5), bson]));
}

/** The command of a message, with OP_MSG document sequences (kind 1) folded in under their names. */
function decodeCommand(opCode: number, body: Buffer): Doc {
  if (opCode === OP_QUERY) {
    const at = body.indexOf(0, 4) + 1 + 8;
    return BSON.deserialize(body.subarray(at, at + body.readInt32LE(at)));
  }
  let command: Doc = {};
  const sequences: [string, Doc[]][] = [];
  let at = 4;
  while (at < body.length) {
    const kind = body[at];
    at += 1;
    const size = body.readInt32LE(at);
    if (kind === 0) command = BSON.deserialize(body.subarray(at, at + size));
    else {
      const end = at + size;
      const nameEnd = body.indexOf(0, at + 4);
      const identifier = body.toString("utf8", at + 4, nameEnd);
      const docs: Doc[] = [];
      for (let p = nameEnd + 1; p < end; p += body.readInt32LE(p)) docs.push(BSON.deserialize(body.subarray(p, p + body.readInt32LE(p))));
      sequences.push([identifier, docs]);
    }
    at += size;
  }
  for (const [identifier, docs] of sequences) command[identifier] = docs;
  return command;
}

/** Starts a fake replica set member on a free loopback port. */
export async function startFakeMongo(): Promise<FakeMongo> {
  const engine = new Engine();
  const commands = new Map<string, number>();
  const sockets = new Set<Socket>();
  let port = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 16 && pending.length >= pending.readInt32LE(0)) {
        const length = pending.readInt32LE(0);
        const requestId = pending.readInt32LE(4);
        const opCode = pending.readInt32LE(12);
        const command = decodeCommand(opCode, pending.subarray(16, length));
        pending = pending.subarray(length);
        const name = Object.keys(command)[0] ?? "";
        commands.set(name, (commands.get(name) ?? 0) + 1);
        let answer: Doc;
        try {
          answer = { ...engine.run(command, port), ok: 1 };
        } catch (error) {
          answer =
            error instanceof CommandError
              ? { ok: 0, code: error.code, codeName: error.codeName, errmsg: error.message }
              : { ok: 0, code: 1, codeName: "InternalError", errmsg: error instanceof Error ? error.message : String(error) };
        }
        socket.write(encodeReply(opCode, requestId, answer));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  return {
    uri: `mongodb://127.0.0.1:${port}/?directConnection=true`,
    commands,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
