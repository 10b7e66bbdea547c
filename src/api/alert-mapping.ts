import { create } from "@bufbuild/protobuf";
import {
  AlertEventSchema,
  AlertEventType as AlertEventTypeProto,
  AlertKind as AlertKindProto,
  CostAlertSchema,
  type AlertEvent as AlertEventProto,
  type CostAlert,
} from "../../gen/dreamnet/cost/v1/alert_pb.js";
import type { Alert, AlertEvent, AlertKind } from "../domain/alert.js";
import { periodToProto } from "./budget-mapping.js";
import { moneyToProto } from "./money-mapping.js";
import { timestampFromMs } from "./time-mapping.js";

const KINDS: Readonly<Record<AlertKind, AlertKindProto>> = {
  threshold: AlertKindProto.THRESHOLD,
  exceeded: AlertKindProto.EXCEEDED,
  forecast: AlertKindProto.FORECAST,
};

/** The wire form of an alert. */
export function alertToProto(alert: Alert): CostAlert {
  return create(CostAlertSchema, {
    id: alert.id,
    clusterId: alert.clusterId,
    budgetId: alert.budgetId,
    kind: KINDS[alert.kind],
    threshold: moneyToProto(alert.threshold),
    thresholdPercent: alert.thresholdPercent,
    currentCost: moneyToProto(alert.currentCost),
    percent: alert.percent,
    period: periodToProto(alert.period),
    periodStartTime: timestampFromMs(alert.periodStartMs),
    periodEndTime: timestampFromMs(alert.periodEndMs),
    triggerTime: timestampFromMs(alert.triggeredAtMs),
    acknowledged: alert.acknowledged,
    acknowledgedBy: alert.acknowledgedBy,
    acknowledgeTime: alert.acknowledged ? timestampFromMs(alert.acknowledgedAtMs) : undefined,
    acknowledgeNote: alert.acknowledgeNote,
  });
}

/** The wire form of a feed event. */
export function alertEventToProto(event: AlertEvent): AlertEventProto {
  return create(AlertEventSchema, {
    cursor: event.cursor,
    type: event.type === "triggered" ? AlertEventTypeProto.TRIGGERED : AlertEventTypeProto.ACKNOWLEDGED,
    alert: alertToProto(event.alert),
    eventTime: timestampFromMs(event.eventMs),
  });
}
