import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { AlertEventSchema } from "../../gen/dreamnet/cost/v1/alert_pb.js";
import {
  AcknowledgeAlertResponseSchema,
  AlertState,
  HeartbeatSchema,
  ListAlertsResponseSchema,
  ResumeRequiredSchema,
  WatchAlertsResponseSchema,
  type AcknowledgeAlertRequest,
  type AcknowledgeAlertResponse,
  type ListAlertsRequest,
  type ListAlertsResponse,
  type WatchAlertsRequest,
  type WatchAlertsResponse,
} from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { FeedCursorExpiredError, type FeedItem } from "../core/alert-feed.js";
import type { CostCore } from "../core/cost-core.js";
import type { AlertEvent } from "../domain/alert.js";
import { alertEventToProto, alertToProto } from "./alert-mapping.js";
import { principalOf, requireCluster, visibleClusters } from "./auth/principal.js";
import { withEncodedField } from "./encoded-field.js";
import { invalidArgument } from "./field-violation.js";
import { decodePageToken, encodePageToken, optionalId, pageSize, timeRange } from "./request-fields.js";
import { timestampFromMs } from "./time-mapping.js";
import { isViolation } from "./money-mapping.js";
import { msFromTimestamp } from "./time-mapping.js";

/** Longest acknowledgment note, in characters. */
const MAX_NOTE_LENGTH = 1_024;

/** ListAlerts, AcknowledgeAlert and WatchAlerts. */
export function createAlertHandlers(core: CostCore) {
  // Every live watcher gets the same event objects from the feed's window: map each to
  // its wire message once, not once per watcher, and for the binary codec encode it once
  // too (encoding it per stream took tens of ms of a 1,000-watcher fan-out's first alert).
  const eventMessages = new WeakMap<AlertEvent, { readonly plain: WatchAlertsResponse; encoded?: WatchAlertsResponse }>();
  const toResponse = (item: FeedItem, binary: boolean): WatchAlertsResponse => {
    if (item.kind !== "event") return watchResponse(item);
    let cached = eventMessages.get(item.event);
    if (!cached) {
      cached = { plain: watchResponse(item) };
      eventMessages.set(item.event, cached);
    }
    if (!binary || cached.plain.message.case !== "event") return cached.plain;
    cached.encoded ??= withEncodedField(WatchAlertsResponseSchema, WatchAlertsResponseSchema.field.event, toBinary(AlertEventSchema, cached.plain.message.value));
    return cached.encoded;
  };
  return {
    async listAlerts(request: ListAlertsRequest, context: HandlerContext): Promise<ListAlertsResponse> {
      const clusterId = optionalId(request.clusterId, "cluster_id");
      const range = optionalRange(request);
      const page = await core.alerts.list({
        clusterIds: visibleClusters(principalOf(context), clusterId),
        state: stateFromProto(request.state),
        fromMs: range.fromMs,
        toMs: range.toMs,
        after: decodePageToken(request.pageToken),
        limit: pageSize(request.pageSize, "page_size", 100, 500),
      });
      return create(ListAlertsResponseSchema, {
        alerts: page.alerts.map(alertToProto),
        nextPageToken: page.next === undefined ? "" : encodePageToken(page.next),
      });
    },

    async acknowledgeAlert(request: AcknowledgeAlertRequest, context: HandlerContext): Promise<AcknowledgeAlertResponse> {
      if (request.alertId === "" || request.alertId.length > 128) {
        throw invalidArgument({ field: "alert_id", description: "is required (at most 128 characters)" });
      }
      if (request.note.length > MAX_NOTE_LENGTH) throw invalidArgument({ field: "note", description: `must be at most ${MAX_NOTE_LENGTH} characters` });
      const principal = principalOf(context);
      requireCluster(principal, (await core.alerts.get(request.alertId)).clusterId, "alert_id");
      const { alert, newly } = await core.alerts.acknowledge({ alertId: request.alertId, by: principal.id, note: request.note });
      return create(AcknowledgeAlertResponseSchema, { alert: alertToProto(alert), newlyAcknowledged: newly });
    },

    async *watchAlerts(request: WatchAlertsRequest, context: HandlerContext): AsyncGenerator<WatchAlertsResponse> {
      const clusterId = optionalId(request.clusterId, "cluster_id");
      const items = core.feed.watch({
        after: request.resumeAfter === "" ? undefined : request.resumeAfter,
        clusterIds: visibleClusters(principalOf(context), clusterId),
        includeActive: request.includeActive,
        signal: context.signal,
      });
      // Connect and gRPC name the codec in the content type: "application/grpc", "application/connect+proto", "...+json".
      const binary = !(context.requestHeader.get("content-type") ?? "").includes("json");
      try {
        for await (const item of items) yield toResponse(item, binary);
      } catch (error) {
        if (error instanceof FeedCursorExpiredError) throw new ConnectError(error.message, Code.FailedPrecondition);
        throw error;
      }
    },
  };
}

function watchResponse(item: FeedItem): WatchAlertsResponse {
  switch (item.kind) {
    case "active":
      return create(WatchAlertsResponseSchema, { message: { case: "activeAlert", value: alertToProto(item.alert) } });
    case "event":
      return create(WatchAlertsResponseSchema, { message: { case: "event", value: alertEventToProto(item.event) } });
    case "heartbeat":
      return create(WatchAlertsResponseSchema, {
        message: { case: "heartbeat", value: create(HeartbeatSchema, { time: timestampFromMs(item.atMs), cursor: item.cursor }) },
      });
    case "resume":
      return create(WatchAlertsResponseSchema, {
        message: { case: "resumeRequired", value: create(ResumeRequiredSchema, { resumeAfter: item.cursor, reason: item.reason }) },
      });
  }
}

function stateFromProto(state: AlertState): "active" | "acknowledged" | "all" {
  switch (state) {
    case AlertState.UNSPECIFIED:
    case AlertState.ACTIVE:
      return "active";
    case AlertState.ACKNOWLEDGED:
      return "acknowledged";
    case AlertState.ALL:
      return "all";
    default:
      throw invalidArgument({ field: "state", description: `has unknown value ${String(state)}` });
  }
}

function optionalRange(request: ListAlertsRequest): { fromMs?: number; toMs?: number } {
  if (request.startTime && request.endTime) return timeRange(request.startTime, request.endTime, { endMs: 0, lengthMs: 0 });
  const one = (ts: typeof request.startTime, field: string): number | undefined => {
    if (!ts) return undefined;
    const ms = msFromTimestamp(ts, field);
    if (isViolation(ms)) throw invalidArgument(ms);
    return ms;
  };
  return { fromMs: one(request.startTime, "start_time"), toMs: one(request.endTime, "end_time") };
}
