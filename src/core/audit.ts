import { auditEntry, type AuditEntry, type AuditEvent, type AuditQuery } from "../domain/audit.js";
import type { Clock } from "../domain/time.js";
import type { CostStore } from "./cost-store.js";

/** An API key as the audit log shows it: no secret, only a short fingerprint of its hash to show rotation. */
export interface AuditedKey {
  readonly id: string;
  readonly fingerprint: string;
  readonly scopes: readonly string[];
  readonly clusters: readonly string[] | undefined;
}

/** Reads the audit log and records changes the server notices itself. */
export interface AuditService {
  list(query: AuditQuery): Promise<{ readonly events: readonly AuditEvent[]; readonly next?: string | undefined }>;
  /** Compares the API keys now configured with those seen last time and audits what was added, changed or removed. */
  recordKeySet(keys: readonly AuditedKey[]): Promise<readonly AuditEntry[]>;
}

/** Creates the audit service. */
export function createAuditService(deps: { store: CostStore; clock: Clock }): AuditService {
  const { store, clock } = deps;
  return {
    list: (query) => store.listAuditEvents(query),
    async recordKeySet(keys) {
      const sorted = [...keys].sort((a, b) => (a.id < b.id ? -1 : 1));
      const previousText = await store.swapSetting("api_keys", JSON.stringify(sorted));
      const previous = new Map((previousText ? (JSON.parse(previousText) as AuditedKey[]) : []).map((k) => [k.id, k]));
      const current = new Map(sorted.map((k) => [k.id, k]));
      const stamp = { actor: "server", atMs: clock.now() };
      const entries: AuditEntry[] = [];
      const entry = (id: string, before: AuditedKey | undefined, after: AuditedKey | undefined, action: string): AuditEntry =>
        auditEntry({
          resourceType: "api_key",
          resourceId: id,
          before: before && { ...before, clusterId: "" },
          after: after && { ...after, clusterId: "" },
          stamp,
          toJson: ({ clusterId: _unused, ...key }) => key,
          action,
        });
      for (const [id, key] of current) {
        const before = previous.get(id);
        if (!before) entries.push(entry(id, undefined, key, "api_key.add"));
        else if (JSON.stringify(before) !== JSON.stringify(key)) entries.push(entry(id, before, key, "api_key.update"));
      }
      for (const [id, key] of previous) if (!current.has(id)) entries.push(entry(id, key, undefined, "api_key.remove"));
      if (entries.length > 0) await store.appendAudit(entries);
      return entries;
    },
  };
}
