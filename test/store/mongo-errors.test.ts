import { MongoNetworkError, MongoServerError } from "mongodb";
import { describe, expect, it } from "vitest";
import { InvalidRequestError, StoreUnavailableError } from "../../src/core/errors.js";
import {
  MongoStartupError,
  isDuplicateKeyError,
  mongoHostsOf,
  mongoStartupErrorFrom,
  mongoStoreErrorFrom,
  topologyProblemFrom,
} from "../../src/store/mongo/mongo-errors.js";

// Driver errors as the driver shapes them (name, code, codeName, errorLabels, cause),
// made here without a server: a few from the driver's own classes, the rest as plain
// objects with the same fields, which is all the mapping looks at.

const URI = "mongodb://cost:s3cret-pw@db-1.internal:27017,db-2.internal:27017/?replicaSet=rs0&authSource=admin";

function driverError(name: string, message: string, fields: Record<string, unknown> = {}): Error {
  const error = new Error(message);
  Object.defineProperty(error, "name", { value: name });
  return Object.assign(error, fields);
}

describe("mongoHostsOf()", () => {
  it("names the hosts of a connection string without its credentials", () => {
    expect(mongoHostsOf(URI)).toBe("db-1.internal:27017,db-2.internal:27017");
    expect(mongoHostsOf("mongodb+srv://u:p@cluster0.example.net/cost?retryWrites=true")).toBe("cluster0.example.net");
    expect(mongoHostsOf("mongodb://localhost")).toBe("localhost");
  });
});

describe("mongoStartupErrorFrom()", () => {
  it("says the server cannot be reached when server selection times out", () => {
    const error = mongoStartupErrorFrom(driverError("MongoServerSelectionError", "Server selection timed out after 5000 ms"), URI);
    expect(error).toBeInstanceOf(MongoStartupError);
    expect(error.reason).toBe("unreachable");
    expect(error.message).toBe("cannot reach MongoDB at db-1.internal:27017,db-2.internal:27017: Server selection timed out after 5000 ms");
  });

  it("says the server cannot be reached on a refused connection, keeping the driver error as cause", () => {
    const cause = new MongoNetworkError("connect ECONNREFUSED 127.0.0.1:27017");
    const error = mongoStartupErrorFrom(cause, "mongodb://127.0.0.1:27017");
    expect(error.message).toBe("cannot reach MongoDB at 127.0.0.1:27017: connect ECONNREFUSED 127.0.0.1:27017");
    expect(error.cause).toBe(cause);
  });

  it("says authentication failed, and how to fix it, for AuthenticationFailed (code 18)", () => {
    const cause = new MongoServerError({ message: "Authentication failed.", code: 18, codeName: "AuthenticationFailed", ok: 0 });
    const error = mongoStartupErrorFrom(cause, URI);
    expect(error.reason).toBe("authentication");
    expect(error.message).toBe(
      "authentication to MongoDB at db-1.internal:27017,db-2.internal:27017 failed: check the user name, password and authSource in COST_CORE_MONGODB_URI (Authentication failed.)",
    );
    expect(error.message).not.toContain("s3cret");
  });

  it("recognises an authentication failure wrapped in a pool-cleared network error", () => {
    const auth = new MongoServerError({ message: "Authentication failed.", code: 18, codeName: "AuthenticationFailed", ok: 0 });
    const wrapped = driverError("MongoPoolClearedError", "Connection pool for db-1.internal:27017 was cleared", { cause: auth });
    expect(mongoStartupErrorFrom(wrapped, URI).reason).toBe("authentication");
  });

  it("passes a MongoStartupError through, and names other failures with the host", () => {
    const standalone = topologyProblemFrom({ isWritablePrimary: true });
    expect(standalone && mongoStartupErrorFrom(standalone, URI)).toBe(standalone);
    const other = mongoStartupErrorFrom(new MongoServerError({ message: "not authorized on cost_core to execute command { createIndexes: ... }", code: 13, codeName: "Unauthorized" }), URI);
    expect(other.reason).toBe("other");
    expect(other.message).toMatch(/^MongoDB at db-1\.internal:27017,db-2\.internal:27017 could not be prepared for Cost Core: not authorized/);
  });
});

describe("topologyProblemFrom()", () => {
  it("refuses a standalone server (hello without setName), pointing at docker-compose.yml", () => {
    const problem = topologyProblemFrom({ helloOk: true, isWritablePrimary: true, maxWireVersion: 21, ok: 1 });
    expect(problem?.reason).toBe("standalone");
    expect(problem?.message).toBe("MongoDB is a standalone server; Cost Core needs a replica set (a single-node one is fine): see docker-compose.yml");
  });

  it("accepts a replica set member and a mongos", () => {
    expect(topologyProblemFrom({ isWritablePrimary: true, setName: "rs0", hosts: ["mongo:27017"], ok: 1 })).toBeUndefined();
    expect(topologyProblemFrom({ isWritablePrimary: true, msg: "isdbgrid", ok: 1 })).toBeUndefined();
  });
});

describe("mongoStoreErrorFrom()", () => {
  it.each([
    ["a network error", new MongoNetworkError("connection 4 to 10.0.0.5:27017 closed")],
    ["server selection timing out", driverError("MongoServerSelectionError", "Server selection timed out after 5000 ms")],
    ["a closed client", driverError("MongoClientClosedError", "Operation interrupted because client was closed")],
    ["a primary stepping down", new MongoServerError({ message: "not primary", code: 10107, codeName: "NotWritablePrimary" })],
    ["an interrupted shutdown", new MongoServerError({ message: "interrupted at shutdown", code: 11600, codeName: "InterruptedAtShutdown" })],
    ["a write concern timeout", driverError("MongoWriteConcernError", "waiting for replication timed out", { code: 64 })],
    ["a transient transaction error left after the retries", new MongoServerError({ message: "WriteConflict", code: 112, errorLabels: ["TransientTransactionError"] })],
    ["an unknown commit result", driverError("MongoServerError", "commit result unknown", { errorLabels: ["UnknownTransactionCommitResult"] })],
  ])("maps %s to StoreUnavailableError, the driver error as cause and not in the message", (_, cause) => {
    const mapped = mongoStoreErrorFrom(cause);
    expect(mapped).toBeInstanceOf(StoreUnavailableError);
    expect((mapped as Error).cause).toBe(cause);
    expect((mapped as Error).message).not.toContain((cause as Error).message);
  });

  it("passes other errors through unchanged", () => {
    const duplicate = new MongoServerError({ message: "E11000 duplicate key error", code: 11000 });
    const invalid = new InvalidRequestError("page_token", "is not a token from a previous response");
    const bug = new TypeError("x is undefined");
    expect(mongoStoreErrorFrom(duplicate)).toBe(duplicate);
    expect(mongoStoreErrorFrom(invalid)).toBe(invalid);
    expect(mongoStoreErrorFrom(bug)).toBe(bug);
    expect(mongoStoreErrorFrom("a string")).toBe("a string");
  });
});

describe("isDuplicateKeyError()", () => {
  it("recognises 11000 at the top, in a bulk write's errors, or as a cause", () => {
    expect(isDuplicateKeyError(new MongoServerError({ message: "E11000", code: 11000 }))).toBe(true);
    expect(isDuplicateKeyError(driverError("MongoBulkWriteError", "E11000", { code: 11000, writeErrors: [{ index: 3, code: 11000 }] }))).toBe(true);
    expect(isDuplicateKeyError(driverError("MongoBulkWriteError", "bulk", { writeErrors: [{ index: 0, code: 121 }, { index: 1, code: 11000 }] }))).toBe(true);
    expect(isDuplicateKeyError(driverError("Error", "wrapped", { cause: { code: 11000 } }))).toBe(true);
    expect(isDuplicateKeyError(new MongoServerError({ message: "WriteConflict", code: 112 }))).toBe(false);
    expect(isDuplicateKeyError(undefined)).toBe(false);
  });
});
