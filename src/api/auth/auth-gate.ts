import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { CostService } from "../../../gen/dreamnet/cost/v1/cost_service_pb.js";
import type { KeyRing } from "./api-keys.js";
import { ANONYMOUS, hasScope, principalKey } from "./principal.js";
import { METHOD_SCOPES } from "./scopes.js";

/** Limits on long-lived calls. */
export interface StreamLimits {
  /** Open streaming calls (RecordCosts, ExportCosts, WatchAlerts) per key (default 64). */
  readonly maxStreamsPerKey: number;
  /** Open WatchAlerts calls on the server (default 2,000). */
  readonly maxWatchers: number;
}

const DEFAULT_LIMITS: Readonly<StreamLimits> = { maxStreamsPerKey: 64, maxWatchers: 2_000 };

/**
 * The request gate: runs once headers arrive and before the body is read, so an
 * unauthenticated call costs nothing. Authenticates CostService calls, checks the
 * method's scope, enforces stream limits and leaves the principal for handlers.
 * Health checking and reflection stay open, as generic tools expect.
 */
export function createAuthGate(keyRing: KeyRing | undefined, limits: Partial<StreamLimits> = {}): (context: HandlerContext) => void {
  const { maxStreamsPerKey, maxWatchers } = { ...DEFAULT_LIMITS, ...limits };
  const streamsByKey = new Map<string, number>();
  let watchers = 0;

  return (context) => {
    if (context.service.typeName !== CostService.typeName) return;
    let principal = ANONYMOUS;
    if (keyRing) {
      const presented = presentedKey(context.requestHeader);
      if (presented === undefined) {
        throw new ConnectError('missing API key: send "authorization: Bearer <key>" (or "x-api-key: <key>")', Code.Unauthenticated);
      }
      const found = keyRing.authenticate(presented);
      if (!found) throw new ConnectError("API key not recognised", Code.Unauthenticated);
      principal = found;
    }
    const scope = METHOD_SCOPES[context.method.name];
    if (!scope || !hasScope(principal, scope)) {
      throw new ConnectError(`API key "${principal.id}" lacks the scope ${scope ?? "admin"} that ${context.method.name} needs`, Code.PermissionDenied);
    }
    context.values.set(principalKey, principal);

    if (context.method.methodKind === "unary") return;
    const open = streamsByKey.get(principal.id) ?? 0;
    if (open >= maxStreamsPerKey) {
      throw new ConnectError(`API key "${principal.id}" already has ${open} open streams (limit ${maxStreamsPerKey}); close some or retry later`, Code.ResourceExhausted);
    }
    const isWatch = context.method.name === "WatchAlerts";
    if (isWatch && watchers >= maxWatchers) {
      throw new ConnectError(`the server already has ${watchers} alert watchers (limit ${maxWatchers}); retry later`, Code.ResourceExhausted);
    }
    streamsByKey.set(principal.id, open + 1);
    if (isWatch) watchers++;
    // The call's signal aborts when it ends, however it ends.
    context.signal.addEventListener(
      "abort",
      () => {
        const left = (streamsByKey.get(principal.id) ?? 1) - 1;
        if (left === 0) streamsByKey.delete(principal.id);
        else streamsByKey.set(principal.id, left);
        if (isWatch) watchers--;
      },
      { once: true },
    );
  };
}

function presentedKey(headers: Headers): string | undefined {
  const authorization = headers.get("authorization");
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match ? match[1] : undefined;
  }
  return headers.get("x-api-key")?.trim() || undefined;
}
