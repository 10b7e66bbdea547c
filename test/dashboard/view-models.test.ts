import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { AlertEventSchema, AlertEventType, AlertKind, CostAlertSchema, type CostAlert } from "../../gen/dreamnet/cost/v1/alert_pb.js";
import { CostSeriesPointSchema } from "../../gen/dreamnet/cost/v1/cost_summary_pb.js";
import { createActiveAlerts } from "../../src/dashboard/.app/active-alerts.js";
import { createApiKeyStore, type KeyStorage } from "../../src/dashboard/.app/api-key-store.js";
import { decimalText, moneyFromWire, moneyText, sharePercent, sumMoney } from "../../src/dashboard/.app/money-text.js";
import { bucketStarts, seriesModel } from "../../src/dashboard/.app/series-model.js";
import { money } from "../support/records.js";

const HOUR = 3_600_000;

function alert(id: string, triggerMs: number, changes: MessageInitShape<typeof CostAlertSchema> = {}): CostAlert {
  return create(CostAlertSchema, { id, budgetId: "b", clusterId: "c", kind: AlertKind.THRESHOLD, thresholdPercent: 50, triggerTime: timestampFromMs(triggerMs), ...changes });
}

const event = (type: AlertEventType, a: CostAlert) => create(AlertEventSchema, { cursor: "1", type, alert: a });

describe("money on the page", () => {
  it("keeps amounts exact from units and nanos, and sums them as integers", () => {
    const amounts = Array.from({ length: 1_000 }, () => moneyFromWire(money(0, 2_000_000, "USD")));

    expect(decimalText(sumMoney(amounts, "USD"))).toBe("2");
    expect(decimalText(moneyFromWire(money(16, 252_000_001, "USD")))).toBe("16.252000001");
    expect(decimalText(moneyFromWire(money(-1, -500_000_000, "USD")))).toBe("-1.5");
    expect(decimalText(moneyFromWire(undefined, "EUR"))).toBe("0");
  });

  it("formats for the reader without rounding digits away", () => {
    expect(moneyText(moneyFromWire(money(1234, 500_000_000, "USD")), "en-US")).toBe("$1,234.50");
    expect(moneyText(moneyFromWire(money(0, 2_000_000, "USD")), "en-US")).toBe("$0.002");
    expect(moneyText(moneyFromWire(money(9_007_199_254, 740_993_001, "USD")), "en-US")).toBe("$9,007,199,254.740993001");
    expect(moneyText(moneyFromWire(money(150, 0, "JPY")), "en-US")).toBe("¥150");
    expect(moneyText(moneyFromWire(money(2, 500_000_000, "EUR")), "de-DE")).toBe("2,50\u00a0€");
  });

  it("rounds a share to two decimals in integers", () => {
    const total = moneyFromWire(money(3, 0, "USD"));
    expect(sharePercent(moneyFromWire(money(1, 0, "USD")), total)).toBe(33.33);
    expect(sharePercent(moneyFromWire(money(2, 0, "USD")), total)).toBe(66.67);
  });
});

describe("createActiveAlerts()", () => {
  it("adds an alert once, however often the list, the snapshot and the feed repeat it", () => {
    const alerts = createActiveAlerts();
    alerts.replaceFromList([alert("a", 1_000)], 5_000);

    expect(alerts.applyActive(alert("a", 1_000), 6_000)).toBe("updated");
    expect(alerts.applyEvent(event(AlertEventType.TRIGGERED, alert("a", 1_000)), 6_000)).toBe("updated");
    expect(alerts.list().map((a) => a.id)).toEqual(["a"]);
    expect(alerts.isLive("a")).toBe(false);
  });

  it("marks alerts that arrive through the feed as live, newest and most severe first", () => {
    const alerts = createActiveAlerts();
    alerts.replaceFromList([alert("old", 1_000)], 5_000);
    expect(alerts.applyEvent(event(AlertEventType.TRIGGERED, alert("t50", 9_000)), 9_500)).toBe("added");
    alerts.applyEvent(event(AlertEventType.TRIGGERED, alert("exceeded", 9_000, { kind: AlertKind.EXCEEDED, thresholdPercent: 100 })), 9_500);

    expect(alerts.list().map((a) => a.id)).toEqual(["exceeded", "t50", "old"]);
    expect(alerts.isLive("t50")).toBe(true);
  });

  it("drops an acknowledged alert for good, even when an older list still shows it", () => {
    const alerts = createActiveAlerts();
    alerts.replaceFromList([alert("a", 1_000), alert("b", 2_000)], 5_000);
    expect(alerts.applyEvent(event(AlertEventType.ACKNOWLEDGED, alert("a", 1_000, { acknowledged: true })), 6_000)).toBe("removed");

    alerts.replaceFromList([alert("a", 1_000), alert("b", 2_000)], 5_500);
    expect(alerts.list().map((x) => x.id)).toEqual(["b"]);
    expect(alerts.applyActive(alert("a", 1_000), 7_000)).toBe("unchanged");
  });

  it("keeps an alert the feed raised after the list was asked for", () => {
    const alerts = createActiveAlerts();
    alerts.applyEvent(event(AlertEventType.TRIGGERED, alert("new", 8_000)), 8_100);

    alerts.replaceFromList([alert("listed", 1_000)], 8_000);
    expect(alerts.list().map((a) => a.id)).toEqual(["new", "listed"]);

    alerts.replaceFromList([alert("listed", 1_000)], 9_000);
    expect(alerts.list().map((a) => a.id)).toEqual(["listed"]);
  });
});

describe("seriesModel()", () => {
  const now = Date.UTC(2026, 5, 15, 12, 30);
  const buckets = bucketStarts("hour", now);
  const point = (startMs: number, key: string, units: number, nanos: number, currency = "USD") =>
    create(CostSeriesPointSchema, { bucketStartTime: timestampFromMs(startMs), key, cost: money(units, nanos, currency), recordCount: 1n });

  it("covers the last 24 clock hours, the current one last", () => {
    expect(buckets).toHaveLength(24);
    expect(buckets.at(-1)).toBe(Date.UTC(2026, 5, 15, 12));
    expect(buckets[0]).toBe(Date.UTC(2026, 5, 14, 13));
  });

  it("puts each group's points in their buckets, for one currency at a time, largest group first", () => {
    const points = [
      point(buckets[0] as number, "openai", 1, 0),
      point(buckets[23] as number, "openai", 0, 2_000_000),
      point(buckets[23] as number, "anthropic", 3, 500_000_000),
      point(buckets[23] as number, "mistral", 2, 500_000_000, "EUR"),
    ];
    const model = seriesModel(points, buckets, "USD");

    expect(model.currencies).toEqual(["EUR", "USD"]);
    expect(model.series.map((s) => [s.key, decimalText(s.total)])).toEqual([
      ["anthropic", "3.5"],
      ["openai", "1.002"],
    ]);
    expect(model.series[1]?.amounts[0] && decimalText(model.series[1].amounts[0])).toBe("1");
    expect(model.series[1]?.amounts[5]).toBeUndefined();
    expect(decimalText(model.total)).toBe("4.502");
    expect(model.rows.map((r) => r.key)).toEqual(["openai", "anthropic", "openai"]);
  });

  it("folds the smallest groups into one exact 'other' line past the limit", () => {
    const points = ["a", "b", "c", "d"].map((key, i) => point(buckets[23] as number, key, 4 - i, 1));
    const model = seriesModel(points, buckets, "USD", 3);

    expect(model.series.map((s) => (s.isOther ? "other" : s.key))).toEqual(["a", "b", "other"]);
    expect(decimalText(model.series[2]?.total ?? moneyFromWire(undefined))).toBe("3.000000002");
  });

  it("starts day buckets at local midnight", () => {
    const days = bucketStarts("day", now);
    expect(days).toHaveLength(30);
    for (const start of days) expect(new Date(start).getHours()).toBe(0);
    expect(days.at(-1)).toBeLessThanOrEqual(now);
    expect(now - (days.at(-1) as number)).toBeLessThan(25 * HOUR);
  });
});

describe("createApiKeyStore()", () => {
  function memoryStorage(): KeyStorage & { items: Map<string, string> } {
    const items = new Map<string, string>();
    return { items, getItem: (k) => items.get(k) ?? null, setItem: (k, v) => void items.set(k, v), removeItem: (k) => void items.delete(k) };
  }

  it("keeps the key in session storage and forgets it on request", () => {
    const storage = memoryStorage();
    const keys = createApiKeyStore(storage);
    keys.set("ops.secret");

    expect(createApiKeyStore(storage).get()).toBe("ops.secret");
    keys.clear();
    expect(keys.get()).toBeUndefined();
    expect(storage.items.size).toBe(0);
  });

  it("falls back to memory where storage refuses", () => {
    const refusing: KeyStorage = {
      getItem: () => {
        throw new Error("SecurityError");
      },
      setItem: () => {
        throw new Error("QuotaExceededError");
      },
      removeItem: () => {},
    };
    const keys = createApiKeyStore(refusing);
    keys.set("ops.secret");

    expect(keys.get()).toBe("ops.secret");
  });
});
