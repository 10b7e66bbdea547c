import type { ClientSession, MongoClient, TransactionOptions } from "mongodb";
import { isDuplicateKeyError } from "./mongo-errors.js";

/** How many times a transaction is re-run after a duplicate key (another instance inserted the same key first). */
const DUPLICATE_KEY_ATTEMPTS = 5;

/**
 * Runs `work` in a transaction and resolves with its result once committed.
 *
 * `withTransaction` already re-runs the whole callback on TransientTransactionError
 * (a WriteConflict with a concurrent transaction) and retries a commit whose result
 * is unknown. A duplicate key error is not always labelled transient, yet it too
 * aborts the transaction on the server; it means another transaction committed
 * the same key after our snapshot was taken, so running the work again, from a new
 * snapshot that now sees that key, classifies it correctly. That retry is bounded.
 * `work` must therefore be a pure function of what it reads in the session.
 */
export async function runTransaction<T>(client: MongoClient, options: TransactionOptions, work: (session: ClientSession) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const session = client.startSession();
    try {
      return await session.withTransaction(() => work(session), options);
    } catch (error) {
      if (attempt >= DUPLICATE_KEY_ATTEMPTS || !isDuplicateKeyError(error)) throw error;
    } finally {
      await session.endSession();
    }
  }
}
