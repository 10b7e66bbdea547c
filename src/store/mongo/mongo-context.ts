import type { ClientSession, Collection, Db, Document, Filter, MongoClient, TransactionOptions } from "mongodb";
import { StoreUnavailableError } from "../../core/errors.js";
import type { FindSpec } from "./pipelines.js";
import { guardedMongo } from "./mongo-errors.js";
import { runTransaction } from "./transactions.js";

/** What the record and alert operations share: the client, the database and how to run work. */
export interface MongoContext {
  readonly client: MongoClient;
  readonly db: Db;
  /** Runs work in one transaction (see runTransaction), mapping driver errors. */
  transaction<T>(work: (session: ClientSession) => Promise<T>): Promise<T>;
  /** Runs work outside a transaction, mapping driver errors. */
  guard<T>(work: () => Promise<T>): Promise<T>;
}

/** A context over a connected client; `isClosed` makes work after close fail as "unavailable". */
export function createMongoContext(client: MongoClient, db: Db, transactionOptions: TransactionOptions, isClosed: () => boolean): MongoContext {
  const guard = <T>(work: () => Promise<T>): Promise<T> =>
    guardedMongo(async () => {
      if (isClosed()) throw new StoreUnavailableError("mongodb store is closed");
      return work();
    });
  return {
    client,
    db,
    guard,
    transaction: (work) => guard(() => runTransaction(client, transactionOptions, work)),
  };
}

/** Runs a FindSpec on a collection and returns every document. */
export async function findAll<T extends Document>(collection: Collection<T>, spec: FindSpec): Promise<T[]> {
  const cursor = collection.find(spec.filter as Filter<T>, {
    sort: spec.sort,
    ...(spec.limit === undefined ? {} : { limit: spec.limit }),
    ...(spec.projection === undefined ? {} : { projection: spec.projection }),
  });
  return (await cursor.toArray()) as T[];
}
