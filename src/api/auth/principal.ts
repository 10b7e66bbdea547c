import { Code, ConnectError, createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { Scope } from "./scopes.js";

/** Who is calling: an API key's identity and what it may touch. */
export interface Principal {
  /** The key id ("anonymous" in development mode); recorded in audit events and acknowledgments. */
  readonly id: string;
  readonly scopes: ReadonlySet<Scope>;
  /** The clusters it may read and write; undefined for all. */
  readonly clusters?: ReadonlySet<string> | undefined;
}

/** The caller in development mode (no keys configured): everything is allowed. */
export const ANONYMOUS: Principal = { id: "anonymous", scopes: new Set<Scope>(["admin"]) };

/** Where the request gate leaves the principal for handlers. */
export const principalKey = createContextKey<Principal>(ANONYMOUS, { description: "the authenticated caller" });

/** The principal of a call. */
export function principalOf(context: HandlerContext): Principal {
  return context.values.get(principalKey);
}

/** Whether a principal holds a scope (admin holds all). */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has(scope) || principal.scopes.has("admin");
}

/** Throws PermissionDenied unless the principal may touch the cluster. */
export function requireCluster(principal: Principal, clusterId: string, field: string): void {
  if (principal.clusters && !principal.clusters.has(clusterId)) {
    throw new ConnectError(`API key "${principal.id}" may not access cluster "${clusterId}" (${field})`, Code.PermissionDenied);
  }
}

/**
 * The clusters a read may cover: the one asked for (checked), or every cluster
 * the key may see (undefined: all).
 */
export function visibleClusters(principal: Principal, requested: string | undefined, field = "cluster_id"): readonly string[] | undefined {
  if (requested !== undefined) {
    requireCluster(principal, requested, field);
    return [requested];
  }
  return principal.clusters ? [...principal.clusters] : undefined;
}
