/** Who made a change and when: stamped on every audited write. */
export interface AuditStamp {
  readonly actor: string;
  readonly atMs: number;
}

/** Kinds of resources whose changes are audited. */
export type AuditResource = "budget" | "alert" | "api_key";

/** A change to record; stores give it an id in commit order. */
export interface AuditEntry {
  readonly atMs: number;
  readonly actor: string;
  /** e.g. "budget.create", "budget.update", "budget.delete", "alert.acknowledge", "api_key.add". */
  readonly action: string;
  readonly resourceType: AuditResource;
  readonly resourceId: string;
  readonly clusterId: string;
  /** The resource before, as JSON ("" if it did not exist). */
  readonly beforeJson: string;
  /** The resource after, as JSON ("" if deleted). */
  readonly afterJson: string;
}

/** A recorded change. */
export interface AuditEvent extends AuditEntry {
  readonly id: string;
}

/** Which audit events to list. */
export interface AuditQuery {
  readonly actor?: string | undefined;
  readonly resourceType?: AuditResource | undefined;
  readonly resourceId?: string | undefined;
  readonly clusterIds?: readonly string[] | undefined;
  readonly fromMs?: number | undefined;
  readonly toMs?: number | undefined;
  readonly after?: string | undefined;
  readonly limit: number;
}

/**
 * The audit entry for a change from `before` to `after` (either may be absent),
 * named "<resource>.create|update|delete" unless `action` says otherwise.
 */
export function auditEntry<T extends { readonly clusterId: string }>(options: {
  readonly resourceType: AuditResource;
  readonly resourceId: string;
  readonly before: T | undefined;
  readonly after: T | undefined;
  readonly stamp: AuditStamp;
  readonly toJson: (value: T) => unknown;
  readonly action?: string;
}): AuditEntry {
  const { before, after, stamp } = options;
  const verb = before === undefined ? "create" : after === undefined ? "delete" : "update";
  return {
    atMs: stamp.atMs,
    actor: stamp.actor,
    action: options.action ?? `${options.resourceType}.${verb}`,
    resourceType: options.resourceType,
    resourceId: options.resourceId,
    clusterId: (after ?? before)?.clusterId ?? "",
    beforeJson: before === undefined ? "" : JSON.stringify(options.toJson(before)),
    afterJson: after === undefined ? "" : JSON.stringify(options.toJson(after)),
  };
}
