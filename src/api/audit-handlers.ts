import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { AuditEventSchema } from "../../gen/dreamnet/cost/v1/audit_pb.js";
import {
  ListAuditEventsResponseSchema,
  VerifyStoreResponseSchema,
  type ListAuditEventsRequest,
  type ListAuditEventsResponse,
  type VerifyStoreRequest,
  type VerifyStoreResponse,
} from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import type { CostCore } from "../core/cost-core.js";
import type { AuditResource } from "../domain/audit.js";
import { principalOf, visibleClusters } from "./auth/principal.js";
import { invalidArgument } from "./field-violation.js";
import { isViolation } from "./money-mapping.js";
import { decodePageToken, encodePageToken, optionalId, pageSize } from "./request-fields.js";
import { msFromTimestamp, timestampFromMs } from "./time-mapping.js";

const RESOURCES: readonly AuditResource[] = ["budget", "alert", "api_key"];

/** ListAuditEvents and VerifyStore (admin scope, checked by the request gate). */
export function createAuditHandlers(core: CostCore) {
  return {
    async verifyStore(request: VerifyStoreRequest): Promise<VerifyStoreResponse> {
      const max = pageSize(request.maxMismatches, "max_mismatches", 100, 10_000);
      const report = await core.verify(max);
      return create(VerifyStoreResponseSchema, {
        recordsChecked: BigInt(report.recordsChecked),
        rollupRowsChecked: BigInt(report.rollupRowsChecked),
        budgetsChecked: BigInt(report.budgetsChecked),
        alertsChecked: BigInt(report.alertsChecked),
        mismatchCount: BigInt(report.mismatchCount),
        mismatches: [...report.mismatches],
      });
    },

    async listAuditEvents(request: ListAuditEventsRequest, context: HandlerContext): Promise<ListAuditEventsResponse> {
      if (request.resourceType !== "" && !(RESOURCES as readonly string[]).includes(request.resourceType)) {
        throw invalidArgument({ field: "resource_type", description: `must be one of ${RESOURCES.join(", ")} (got "${request.resourceType.slice(0, 40)}")` });
      }
      if (request.actor.length > 128 || request.resourceId.length > 128) throw invalidArgument({ field: "actor", description: "and resource_id must be at most 128 characters" });
      const clusterId = optionalId(request.clusterId, "cluster_id");
      const time = (ts: typeof request.startTime, field: string): number | undefined => {
        if (!ts) return undefined;
        const ms = msFromTimestamp(ts, field);
        if (isViolation(ms)) throw invalidArgument(ms);
        return ms;
      };
      const page = await core.audit.list({
        actor: request.actor || undefined,
        resourceType: (request.resourceType || undefined) as AuditResource | undefined,
        resourceId: request.resourceId || undefined,
        clusterIds: visibleClusters(principalOf(context), clusterId),
        fromMs: time(request.startTime, "start_time"),
        toMs: time(request.endTime, "end_time"),
        after: decodePageToken(request.pageToken),
        limit: pageSize(request.pageSize, "page_size", 100, 500),
      });
      return create(ListAuditEventsResponseSchema, {
        events: page.events.map((e) =>
          create(AuditEventSchema, {
            id: e.id,
            eventTime: timestampFromMs(e.atMs),
            actor: e.actor,
            action: e.action,
            resourceType: e.resourceType,
            resourceId: e.resourceId,
            clusterId: e.clusterId,
            beforeJson: e.beforeJson,
            afterJson: e.afterJson,
          }),
        ),
        nextPageToken: page.next === undefined ? "" : encodePageToken(page.next),
      });
    },
  };
}
