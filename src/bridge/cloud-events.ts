import { toJson, type JsonObject } from "@bufbuild/protobuf";
import { timestampDate, TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import { CloudEvent, HTTP } from "cloudevents";
import { AlertEventType, CostAlertSchema, type AlertEvent, type CostAlert } from "../../gen/dreamnet/cost/v1/alert_pb.js";
import { CurrencyCostSummarySchema, type CostSummary } from "../../gen/dreamnet/cost/v1/cost_summary_pb.js";

/** The CloudEvent types the bridge sends; the version suffix changes only with an incompatible `data` shape. */
export const EVENT_TYPES = {
  alertTriggered: "dreamnet.cost.alert.triggered.v1",
  alertAcknowledged: "dreamnet.cost.alert.acknowledged.v1",
  spendUpdated: "dreamnet.cost.spend.updated.v1",
} as const;

/** The `source` attribute of every event. */
export const EVENT_SOURCE = "/cost-core";

/** A CloudEvent ready to POST in structured mode. */
export interface OutgoingEvent {
  /** Stable per event: the receiver's deduplication key. */
  readonly id: string;
  readonly type: string;
  /** The cluster id. */
  readonly subject: string;
  /** The whole CloudEvent as JSON text; this exact text is signed and sent. */
  readonly body: string;
  /** application/cloudevents+json; charset=utf-8 */
  readonly contentType: string;
}

/** Serialises an event with the CloudEvents SDK (structured content mode). */
function structured(attributes: { id: string; type: string; subject: string; time: string; data: JsonObject }): OutgoingEvent {
  const event = new CloudEvent<JsonObject>({ specversion: "1.0", source: EVENT_SOURCE, datacontenttype: "application/json", ...attributes });
  const message = HTTP.structured(event);
  return {
    id: attributes.id,
    type: attributes.type,
    subject: attributes.subject,
    body: String(message.body),
    contentType: String(message.headers["content-type"] ?? "application/cloudevents+json; charset=utf-8"),
  };
}

/** RFC 3339 text of a timestamp, or of `fallbackMs` when it is unset. */
function isoOf(timestamp: Timestamp | undefined, fallbackMs: number): string {
  return (timestamp ? timestampDate(timestamp) : new Date(fallbackMs)).toISOString();
}

function alertData(alert: CostAlert): JsonObject {
  return toJson(CostAlertSchema, alert) as JsonObject;
}

/** The CloudEvent of a feed event; undefined for an event type this bridge does not know (it is skipped). */
export function cloudEventFromAlertEvent(event: AlertEvent): OutgoingEvent | undefined {
  const alert = event.alert;
  if (!alert) return undefined;
  switch (event.type) {
    case AlertEventType.TRIGGERED:
      return structured({ id: `${alert.id}.triggered`, type: EVENT_TYPES.alertTriggered, subject: alert.clusterId, time: isoOf(event.eventTime, 0), data: alertData(alert) });
    case AlertEventType.ACKNOWLEDGED:
      return structured({
        id: `${alert.id}.acknowledged`,
        type: EVENT_TYPES.alertAcknowledged,
        subject: alert.clusterId,
        time: isoOf(event.eventTime, 0),
        data: alertData(alert),
      });
    default:
      return undefined;
  }
}

/**
 * The "triggered" CloudEvent of an alert that was already active when the bridge
 * started without a cursor. Same id as its feed event would have, so a receiver
 * that saw that event drops this one.
 */
export function cloudEventFromActiveAlert(alert: CostAlert): OutgoingEvent {
  return structured({ id: `${alert.id}.triggered`, type: EVENT_TYPES.alertTriggered, subject: alert.clusterId, time: isoOf(alert.triggerTime, 0), data: alertData(alert) });
}

/**
 * One "spend updated" CloudEvent per currency of a cluster summary. The id is
 * cluster/currency/as_of: "/" cannot appear in a cluster id, so ids never collide,
 * and the same summary instant always gives the same id.
 */
export function cloudEventsFromSummary(summary: CostSummary, nowMs: number): OutgoingEvent[] {
  const asOf = isoOf(summary.asOfTime, nowMs);
  return summary.currencies.map((entry) =>
    structured({
      id: `${summary.clusterId}/${entry.currencyCode}/${asOf}`,
      type: EVENT_TYPES.spendUpdated,
      subject: summary.clusterId,
      time: asOf,
      data: {
        clusterId: summary.clusterId,
        // Timestamps in the same proto JSON form as the rest of the data.
        ...(summary.asOfTime ? { asOfTime: toJson(TimestampSchema, summary.asOfTime) } : {}),
        ...(summary.lastUpdateTime ? { lastUpdateTime: toJson(TimestampSchema, summary.lastUpdateTime) } : {}),
        ...(toJson(CurrencyCostSummarySchema, entry) as JsonObject),
      },
    }),
  );
}
