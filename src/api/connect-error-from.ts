import { Code, ConnectError } from "@connectrpc/connect";
import { InvalidRequestError, NotFoundError, OverloadedError, ShuttingDownError, StoreUnavailableError } from "../core/errors.js";
import { CurrencyMismatchError } from "../domain/money.js";

/**
 * The one place domain and core errors become gRPC codes. The original error rides
 * along as `cause` for the logs; clients only see the message chosen here, never a
 * driver's text.
 */
export function connectErrorFrom(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  // Validation the core does itself (ranges too large for one answer).
  if (error instanceof InvalidRequestError) return new ConnectError(error.message, Code.InvalidArgument, undefined, undefined, error);
  if (error instanceof CurrencyMismatchError) return new ConnectError(error.message, Code.InvalidArgument, undefined, undefined, error);
  if (error instanceof NotFoundError) return new ConnectError(error.message, Code.NotFound, undefined, undefined, error);
  // Limits: the caller should back off and retry.
  if (error instanceof OverloadedError) return new ConnectError(error.message, Code.ResourceExhausted, undefined, undefined, error);
  // Nothing was committed: retrying is safe because ingestion is idempotent.
  if (error instanceof StoreUnavailableError) {
    return new ConnectError("the store is unavailable; nothing was committed, retry later", Code.Unavailable, undefined, undefined, error);
  }
  if (error instanceof ShuttingDownError) return new ConnectError(error.message, Code.Unavailable, undefined, undefined, error);
  return new ConnectError("internal error", Code.Internal, undefined, undefined, error);
}
