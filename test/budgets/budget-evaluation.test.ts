import { describe, expect, it } from "vitest";
import { evaluateBudget, forecastSpend, type AlertCandidate } from "../../src/domain/budget-evaluation.js";
import { normaliseThresholds, type Budget } from "../../src/domain/budget.js";
import type { Money } from "../../src/domain/money.js";

const UNIT = 1_000_000_000n;
const DAY = 86_400_000;
/** A 10-day period starting at 0, so elapsed shares are easy to read. */
const PERIOD = { fromMs: 0, toMs: 10 * DAY };
/** 5 % of the period: too early for a forecast. */
const EARLY = DAY / 2;

const usd = (nanos: bigint): Money => ({ currency: "USD", nanos });

function budget(overrides: Partial<Budget> = {}): Budget {
  return {
    id: "b1",
    clusterId: "c1",
    amount: usd(10n * UNIT),
    period: "daily",
    thresholds: [50, 80],
    enabled: true,
    timeZone: "UTC",
    createdAtMs: 0,
    updatedAtMs: 0,
    ...overrides,
  };
}

/** The candidates as "kind:percent" for compact exact comparison. */
const kinds = (candidates: readonly AlertCandidate[]): string[] => candidates.map((c) => `${c.kind}:${c.thresholdPercent}`);

describe("evaluateBudget()", () => {
  it("raises nothing below the first threshold", () => {
    expect(evaluateBudget(budget(), usd(4n * UNIT), PERIOD, EARLY)).toEqual([]);
  });

  it("reaches 50 % of 10 USD with exactly 5.000000000 USD but not with 4.999999999 USD", () => {
    expect(evaluateBudget(budget(), usd(5n * UNIT - 1n), PERIOD, EARLY)).toEqual([]);
    expect(evaluateBudget(budget(), usd(5n * UNIT), PERIOD, EARLY)).toEqual([
      { kind: "threshold", thresholdPercent: 50, threshold: usd(5n * UNIT), currentCost: usd(5n * UNIT), percent: 50 },
    ]);
  });

  it("reaches every threshold passed, in ascending order", () => {
    expect(kinds(evaluateBudget(budget({ thresholds: [25, 50, 75] }), usd(8n * UNIT), PERIOD, EARLY))).toEqual(["threshold:25", "threshold:50", "threshold:75"]);
  });

  it("compares in whole nano-units: a threshold of a fraction of a nano is reached only by the next nano", () => {
    // 50 % of 3 nanos is 1.5 nanos: 1 nano is below it, 2 nanos reach it, and the threshold reads 2 nanos.
    const tiny = budget({ amount: usd(3n), thresholds: [50] });
    expect(evaluateBudget(tiny, usd(1n), PERIOD, EARLY)).toEqual([]);
    expect(evaluateBudget(tiny, usd(2n), PERIOD, EARLY)).toEqual([
      { kind: "threshold", thresholdPercent: 50, threshold: usd(2n), currentCost: usd(2n), percent: 66.67 },
    ]);
  });

  it("raises EXCEEDED at exactly the amount, not a nano before", () => {
    expect(kinds(evaluateBudget(budget(), usd(10n * UNIT - 1n), PERIOD, EARLY))).toEqual(["threshold:50", "threshold:80"]);
    expect(evaluateBudget(budget(), usd(10n * UNIT), PERIOD, EARLY)).toEqual([
      { kind: "threshold", thresholdPercent: 50, threshold: usd(5n * UNIT), currentCost: usd(10n * UNIT), percent: 100 },
      { kind: "threshold", thresholdPercent: 80, threshold: usd(8n * UNIT), currentCost: usd(10n * UNIT), percent: 100 },
      { kind: "exceeded", thresholdPercent: 100, threshold: usd(10n * UNIT), currentCost: usd(10n * UNIT), percent: 100 },
    ]);
  });

  it("raises EXCEEDED for a budget without thresholds", () => {
    expect(evaluateBudget(budget({ thresholds: [] }), usd(12n * UNIT), PERIOD, EARLY)).toEqual([
      { kind: "exceeded", thresholdPercent: 100, threshold: usd(10n * UNIT), currentCost: usd(12n * UNIT), percent: 120 },
    ]);
  });

  it("forecasts only once a tenth of the period has passed", () => {
    // 1 USD after exactly one day of ten projects 10 USD; 1.000000001 projects 10.00000001, above the amount.
    const spent = usd(UNIT + 1n);
    expect(evaluateBudget(budget({ thresholds: [] }), spent, PERIOD, DAY - 1)).toEqual([]);
    expect(evaluateBudget(budget({ thresholds: [] }), spent, PERIOD, DAY)).toEqual([
      { kind: "forecast", thresholdPercent: 100, threshold: usd(10n * UNIT), currentCost: usd(10n * UNIT + 10n), percent: 100 },
    ]);
  });

  it("does not forecast a projection that only equals the amount", () => {
    expect(evaluateBudget(budget({ thresholds: [] }), usd(UNIT), PERIOD, DAY)).toEqual([]);
  });

  it("does not forecast once the budget is exceeded", () => {
    expect(kinds(evaluateBudget(budget({ thresholds: [] }), usd(10n * UNIT), PERIOD, 5 * DAY))).toEqual(["exceeded:100"]);
  });

  it("forecasts beside thresholds already reached while spend is still below the amount", () => {
    // 6 USD after 5 days of 10 projects 12 USD.
    expect(evaluateBudget(budget(), usd(6n * UNIT), PERIOD, 5 * DAY)).toEqual([
      { kind: "threshold", thresholdPercent: 50, threshold: usd(5n * UNIT), currentCost: usd(6n * UNIT), percent: 60 },
      { kind: "forecast", thresholdPercent: 100, threshold: usd(10n * UNIT), currentCost: usd(12n * UNIT), percent: 120 },
    ]);
  });

  it("does not forecast a period that has ended (a late record for the previous period)", () => {
    expect(kinds(evaluateBudget(budget(), usd(9n * UNIT), PERIOD, PERIOD.toMs))).toEqual(["threshold:50", "threshold:80"]);
    expect(kinds(evaluateBudget(budget(), usd(9n * UNIT), PERIOD, PERIOD.toMs + DAY))).toEqual(["threshold:50", "threshold:80"]);
  });

  it("raises nothing for a disabled budget, whatever the spend", () => {
    expect(evaluateBudget(budget({ enabled: false }), usd(100n * UNIT), PERIOD, 5 * DAY)).toEqual([]);
  });

  it("ignores spend in another currency", () => {
    expect(evaluateBudget(budget(), { currency: "EUR", nanos: 100n * UNIT }, PERIOD, 5 * DAY)).toEqual([]);
  });
});

describe("forecastSpend()", () => {
  it("projects the burn rate so far to the end of the period, rounding toward zero", () => {
    expect(forecastSpend(usd(3n * UNIT), PERIOD, 3 * DAY)).toEqual(usd(10n * UNIT));
    // 1 nano after 3 of 10 days projects 3.33 nanos: 3.
    expect(forecastSpend(usd(1n), PERIOD, 3 * DAY)).toEqual(usd(3n));
  });

  it("is undefined before a tenth of the period and defined exactly at it", () => {
    expect(forecastSpend(usd(UNIT), PERIOD, DAY - 1)).toBeUndefined();
    expect(forecastSpend(usd(UNIT), PERIOD, DAY)).toEqual(usd(10n * UNIT));
  });

  it("equals the spend once the period is over", () => {
    expect(forecastSpend(usd(7n * UNIT), PERIOD, PERIOD.toMs + DAY)).toEqual(usd(7n * UNIT));
  });
});

describe("normaliseThresholds()", () => {
  it("folds 100 into the EXCEEDED alert and sorts the rest", () => {
    expect(normaliseThresholds([80, 100, 50])).toEqual([50, 80]);
    expect(normaliseThresholds([100])).toEqual([]);
  });

  it("drops repeats", () => {
    expect(normaliseThresholds([90, 10, 90, 10])).toEqual([10, 90]);
  });

  it("keeps 1 and 99, the extremes of a THRESHOLD alert", () => {
    expect(normaliseThresholds([99, 1])).toEqual([1, 99]);
  });
});
