import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AlertEventSchema } from "../../gen/dreamnet/cost/v1/alert_pb.js";
import { WatchAlertsResponseSchema } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { alertEventToProto } from "../../src/api/alert-mapping.js";
import { withEncodedField } from "../../src/api/encoded-field.js";

const event = alertEventToProto({
  cursor: "42",
  type: "triggered",
  eventMs: Date.parse("2026-03-03T12:00:00.123Z"),
  alert: {
    id: "9f1c3c9e-2f7b-4c3e-9a57-0d1f6f3b8a11",
    clusterId: "api-keeper",
    budgetId: "b1",
    kind: "exceeded",
    thresholdPercent: 100,
    threshold: { currency: "USD", nanos: 10_000_000_000n },
    currentCost: { currency: "USD", nanos: 12_345_678_901n },
    percent: 123.45,
    period: "monthly",
    periodStartMs: Date.parse("2026-03-01T00:00:00Z"),
    periodEndMs: Date.parse("2026-04-01T00:00:00Z"),
    triggeredAtMs: Date.parse("2026-03-03T12:00:00.123Z"),
    acknowledged: false,
    acknowledgedBy: "",
    acknowledgedAtMs: 0,
    acknowledgeNote: "",
  },
});

describe("withEncodedField()", () => {
  it("encodes byte for byte like the message with the field set, and decodes to it", () => {
    const plain = create(WatchAlertsResponseSchema, { message: { case: "event", value: event } });
    const encoded = withEncodedField(WatchAlertsResponseSchema, WatchAlertsResponseSchema.field.event, toBinary(AlertEventSchema, event));
    const bytes = toBinary(WatchAlertsResponseSchema, encoded);
    expect(Buffer.from(bytes).equals(Buffer.from(toBinary(WatchAlertsResponseSchema, plain)))).toBe(true);
    expect(equals(WatchAlertsResponseSchema, fromBinary(WatchAlertsResponseSchema, bytes), plain)).toBe(true);
  });
});
