/** How a response stream ended. */
export type StreamEnd =
  | { readonly kind: "completed" }
  /** The consumer stopped early (the client went away, or the response was cut). */
  | { readonly kind: "returned" }
  | { readonly kind: "failed"; readonly error: unknown };

/** What to do when a stream ends; `mapError` replaces an error before it is passed on. */
export interface StreamEndHooks {
  readonly onEnd?: (end: StreamEnd) => void;
  readonly mapError?: (error: unknown) => unknown;
}

/**
 * `source`, passed through message by message, with `hooks.onEnd` called once when
 * it ends. A plain iterator rather than an async generator (`try { yield* source }
 * finally { ... }`): each interceptor's wrapper costs one promise per message instead
 * of a generator's machinery, which counts when one alert goes to a thousand streams.
 */
export function withStreamEnd<T>(source: AsyncIterable<T>, hooks: StreamEndHooks): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const it = source[Symbol.asyncIterator]();
      let ended = false;
      const end = (how: StreamEnd): void => {
        if (ended) return;
        ended = true;
        hooks.onEnd?.(how);
      };
      const passOn = (how: "completed" | "returned") => (result: IteratorResult<T>): IteratorResult<T> => {
        if (result.done) end({ kind: how });
        return result;
      };
      const fail = (error: unknown): never => {
        const passed = hooks.mapError ? hooks.mapError(error) : error;
        end({ kind: "failed", error: passed });
        throw passed;
      };
      const next = passOn("completed");
      const returned = passOn("returned");
      return {
        next: () => it.next().then(next, fail),
        return: (value?: unknown) => {
          if (!it.return) {
            end({ kind: "returned" });
            return Promise.resolve({ done: true, value: value as T });
          }
          return it.return(value).then(returned, fail);
        },
        throw: (error?: unknown) => (it.throw ? it.throw(error).then(next, fail) : Promise.reject(error).catch(fail)),
      };
    },
  };
}
