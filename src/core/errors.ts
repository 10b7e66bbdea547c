/** The store cannot be reached or written right now; the operation may be retried. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}

/** A resource the caller named does not exist. */
export class NotFoundError extends Error {
  constructor(
    readonly resource: string,
    readonly id: string,
  ) {
    super(`${resource} "${id}" not found`);
    this.name = "NotFoundError";
  }
}

/** The service is at a limit (pending writes, streams); the caller should slow down and retry. */
export class OverloadedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OverloadedError";
  }
}

/** The service is shutting down and takes no new work; retry against another instance or later. */
export class ShuttingDownError extends Error {
  constructor() {
    super("the server is shutting down");
    this.name = "ShuttingDownError";
  }
}

/** A request the core cannot answer as asked (e.g. a range with too many buckets); names the field at fault. */
export class InvalidRequestError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field} ${message}`);
    this.name = "InvalidRequestError";
  }
}
