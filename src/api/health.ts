import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";

/** Receives the new status of one watched service. */
export type HealthListener = (status: ServingStatus) => void;

/** Serving status per service name, where "" stands for the whole server. */
export interface HealthStatus {
  /** Status of a service, or undefined if it was never set. */
  get(service: string): ServingStatus | undefined;
  /** Sets the status of one service and notifies its watchers. */
  set(service: string, status: ServingStatus): void;
  /** Sets every known service (including "") to the same status, e.g. NOT_SERVING on shutdown. */
  setAll(status: ServingStatus): void;
  /** Snapshot of all known services and their status. */
  entries(): ReadonlyMap<string, ServingStatus>;
  /** Calls the listener whenever the status of the service changes; returns the unsubscribe function. */
  subscribe(service: string, listener: HealthListener): () => void;
}

/** Creates the status table; the server as a whole ("") starts SERVING unless `initial` says otherwise. */
export function createHealthStatus(
  initial: Readonly<Record<string, ServingStatus>> = { "": ServingStatus.SERVING },
): HealthStatus {
  const statuses = new Map<string, ServingStatus>(Object.entries(initial));
  const listeners = new Map<string, Set<HealthListener>>();

  function set(service: string, status: ServingStatus): void {
    if (statuses.get(service) === status) {
      return;
    }
    statuses.set(service, status);
    // Copy first: a listener may unsubscribe while we iterate.
    for (const listener of [...(listeners.get(service) ?? [])]) {
      listener(status);
    }
  }

  return {
    get: (service) => statuses.get(service),
    set,
    setAll(status) {
      for (const service of [...statuses.keys()]) {
        set(service, status);
      }
    },
    entries: () => new Map(statuses),
    subscribe(service, listener) {
      let group = listeners.get(service);
      if (group === undefined) {
        group = new Set();
        listeners.set(service, group);
      }
      group.add(listener);
      return () => {
        group.delete(listener);
        if (group.size === 0) {
          listeners.delete(service);
        }
      };
    },
  };
}

/** Adds the grpc.health.v1.Health service, answering from `status`. */
export function registerHealthService(router: ConnectRouter, status: HealthStatus): void {
  router.service(Health, {
    check(request) {
      const current = status.get(request.service);
      if (current === undefined) {
        // The health protocol asks for NOT_FOUND so clients can tell "unknown" from "unhealthy".
        throw new ConnectError(`unknown service "${request.service}"`, Code.NotFound);
      }
      return { status: current };
    },
    list() {
      const statuses: Record<string, { status: ServingStatus }> = {};
      for (const [service, current] of status.entries()) {
        statuses[service] = { status: current };
      }
      return { statuses };
    },
    watch: (request, context) => watchStatus(status, request.service, context),
  });
}

/** Streams the status of one service: the current one first, then every change until the call ends. */
async function* watchStatus(
  status: HealthStatus,
  service: string,
  context: HandlerContext,
): AsyncGenerator<{ status: ServingStatus }> {
  const { signal } = context;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  // Subscribe before the first send so a change in between is not lost.
  const unsubscribe = status.subscribe(service, notify);
  signal.addEventListener("abort", notify);
  try {
    let sent: ServingStatus | undefined;
    while (!signal.aborted) {
      const current = status.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
      if (current !== sent) {
        sent = current;
        yield { status: current };
        // The value may have changed while the client was slow to read; loop re-reads it.
        continue;
      }
      // Only the latest status matters, so a burst of changes collapses into one message.
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    unsubscribe();
    signal.removeEventListener("abort", notify);
  }
}
