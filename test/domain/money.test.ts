import { describe, expect, it } from "vitest";
import { isCurrencyCode } from "../../src/domain/currency.js";
import {
  CurrencyMismatchError,
  NANOS_PER_UNIT,
  addMoney,
  compareMoney,
  formatMoney,
  formatMoneyAmount,
  moneyFromParts,
  moneyToParts,
  parseMoneyAmount,
  percentOf,
  scaleMoney,
  subtractMoney,
  zeroMoney,
  type Money,
} from "../../src/domain/money.js";

const usd = (nanos: bigint): Money => ({ currency: "USD", nanos });
const eur = (nanos: bigint): Money => ({ currency: "EUR", nanos });

describe("moneyFromParts() and moneyToParts()", () => {
  it.each([
    { units: 0n, nanos: 0, total: 0n },
    { units: 1n, nanos: 500_000_000, total: 1_500_000_000n },
    { units: -1n, nanos: -500_000_000, total: -1_500_000_000n },
    { units: 0n, nanos: -1, total: -1n },
    { units: 0n, nanos: 2_000_000, total: 2_000_000n },
    { units: 20n, nanos: 0, total: 20_000_000_000n },
    { units: -3n, nanos: 0, total: -3_000_000_000n },
    { units: 1_000_000_000n, nanos: 999_999_999, total: 1_000_000_000_999_999_999n },
    { units: 9_223_372_036n, nanos: 854_775_807, total: 9_223_372_036_854_775_807n },
  ])("round-trips $units units and $nanos nanos through $total nano-units", ({ units, nanos, total }) => {
    const money = moneyFromParts("USD", units, nanos);
    expect(money).toEqual({ currency: "USD", nanos: total });
    expect(moneyToParts(money)).toEqual({ units, nanos });
  });

  it("splits -1.5 into units -1 and nanos -500000000 (both parts carry the sign)", () => {
    expect(moneyToParts(usd(-1_500_000_000n))).toEqual({ units: -1n, nanos: -500_000_000 });
  });

  it("splits -0.25 into units 0 and nanos -250000000", () => {
    expect(moneyToParts(usd(-250_000_000n))).toEqual({ units: 0n, nanos: -250_000_000 });
  });

  it("keeps nanos within -999999999..999999999 for amounts just below a whole unit", () => {
    expect(moneyToParts(usd(999_999_999n))).toEqual({ units: 0n, nanos: 999_999_999 });
    expect(moneyToParts(usd(-999_999_999n))).toEqual({ units: 0n, nanos: -999_999_999 });
    expect(moneyToParts(usd(1_000_000_000n))).toEqual({ units: 1n, nanos: 0 });
  });
});

describe("addMoney()", () => {
  it("adds 1,000,000 amounts of 0.002 to exactly 2000", () => {
    const step = moneyFromParts("USD", 0n, 2_000_000);
    let total = zeroMoney("USD");
    for (let i = 0; i < 1_000_000; i++) total = addMoney(total, step);
    expect(total).toEqual({ currency: "USD", nanos: 2_000n * NANOS_PER_UNIT });
    expect(moneyToParts(total)).toEqual({ units: 2000n, nanos: 0 });
    expect(formatMoney(total)).toBe("2000 USD");
  });

  it("adds 0.1 and 0.2 to exactly 0.3", () => {
    expect(addMoney(usd(100_000_000n), usd(200_000_000n))).toEqual(usd(300_000_000n));
  });

  it("throws CurrencyMismatchError naming both currencies when they differ", () => {
    let caught: unknown;
    try {
      addMoney(usd(1n), eur(1n));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CurrencyMismatchError);
    expect(caught).toMatchObject({ name: "CurrencyMismatchError", left: "USD", right: "EUR", message: "cannot combine USD with EUR" });
  });
});

describe("subtractMoney() and compareMoney()", () => {
  it("subtracts exactly, going below zero", () => {
    expect(subtractMoney(usd(2_000_000n), usd(3_000_000n))).toEqual(usd(-1_000_000n));
  });

  it("orders amounts by value", () => {
    expect(compareMoney(usd(1n), usd(2n))).toBe(-1);
    expect(compareMoney(usd(2n), usd(2n))).toBe(0);
    expect(compareMoney(usd(3n), usd(2n))).toBe(1);
    expect(compareMoney(usd(-5n), usd(0n))).toBe(-1);
  });

  it("throws CurrencyMismatchError on mixed currencies", () => {
    expect(() => subtractMoney(usd(1n), eur(1n))).toThrow(CurrencyMismatchError);
    expect(() => compareMoney(eur(1n), usd(1n))).toThrow(CurrencyMismatchError);
  });
});

describe("percentOf()", () => {
  it.each([
    { part: 1n, whole: 3n, percent: 33.33 },
    { part: 2n, whole: 3n, percent: 66.67 },
    { part: 1n, whole: 8n, percent: 12.5 },
    { part: 1n, whole: 1n, percent: 100 },
    { part: 3n, whole: 2n, percent: 150 },
    { part: 0n, whole: 7n, percent: 0 },
    // Exactly half a hundredth rounds up.
    { part: 1n, whole: 20_000n, percent: 0.01 },
    { part: 3n, whole: 20_000n, percent: 0.02 },
    // Just under half a hundredth rounds down.
    { part: 49n, whole: 1_000_000n, percent: 0 },
    { part: 50n, whole: 1_000_000n, percent: 0.01 },
    { part: 80_000_000_000n, whole: 100_000_000_000n, percent: 80 },
  ])("gives $percent for $part of $whole, rounded half up to two decimals", ({ part, whole, percent }) => {
    expect(percentOf(usd(part), usd(whole))).toBe(percent);
  });

  it("gives 0 when the whole is zero", () => {
    expect(percentOf(usd(5n), usd(0n))).toBe(0);
  });

  it("throws CurrencyMismatchError on mixed currencies", () => {
    expect(() => percentOf(usd(1n), eur(2n))).toThrow(CurrencyMismatchError);
  });

  // Regression: bigint division truncates toward zero, so rounding works on magnitudes.
  it("rounds a negative share to the nearest hundredth (-1 of 3 is -33.33)", () => {
    expect(percentOf(usd(-1n), usd(3n))).toBe(-33.33);
  });
});

describe("scaleMoney()", () => {
  it("scales exactly and truncates toward zero to a nano-unit", () => {
    expect(scaleMoney(usd(10n), 1n, 3n)).toEqual(usd(3n));
    expect(scaleMoney(usd(-10n), 1n, 3n)).toEqual(usd(-3n));
    expect(scaleMoney(usd(7_000_000_000n), 30n, 7n)).toEqual(usd(30_000_000_000n));
  });
});

describe("formatMoneyAmount()", () => {
  it.each([
    { nanos: 2_000_000n, text: "0.002" },
    { nanos: 20_000_000_000n, text: "20" },
    { nanos: -1_500_000_000n, text: "-1.5" },
    { nanos: 0n, text: "0" },
    { nanos: 1n, text: "0.000000001" },
    { nanos: -250_000_000n, text: "-0.25" },
    { nanos: 1_000_000_000_999_999_999n, text: "1000000000.999999999" },
  ])("writes $nanos nano-units as $text", ({ nanos, text }) => {
    expect(formatMoneyAmount(usd(nanos))).toBe(text);
  });

  it("appends the currency in formatMoney()", () => {
    expect(formatMoney(usd(2_000_000n))).toBe("0.002 USD");
    expect(formatMoney(eur(-1_500_000_000n))).toBe("-1.5 EUR");
  });
});

describe("parseMoneyAmount()", () => {
  it.each([
    { text: "0.002", nanos: 2_000_000n },
    { text: "20", nanos: 20_000_000_000n },
    { text: "-1.5", nanos: -1_500_000_000n },
    { text: "-12.5", nanos: -12_500_000_000n },
    { text: "1.000000001", nanos: 1_000_000_001n },
    { text: "0.999999999", nanos: 999_999_999n },
    { text: "007.10", nanos: 7_100_000_000n },
    { text: " 3.5 ", nanos: 3_500_000_000n },
    { text: "999999999999999999.999999999", nanos: 999_999_999_999_999_999_999_999_999n },
  ])("reads $text exactly as $nanos nano-units", ({ text, nanos }) => {
    expect(parseMoneyAmount(text, "USD")).toEqual(usd(nanos));
  });

  it("round-trips every formatted amount", () => {
    for (const nanos of [0n, 1n, -1n, 2_000_000n, 20_000_000_000n, -1_500_000_000n, 123_456_789_012n]) {
      expect(parseMoneyAmount(formatMoneyAmount(usd(nanos)), "USD")).toEqual(usd(nanos));
    }
  });

  it.each(["1.0000000001", "abc", "", "1.", ".5", "+1", "1e3", "1,5", "--1", "1.2.3", "0x10", "1 000"])(
    "rejects %j",
    (text) => {
      expect(parseMoneyAmount(text, "USD")).toBeUndefined();
    },
  );

  it("rejects an unknown or malformed currency", () => {
    expect(parseMoneyAmount("1", "XYZ")).toBeUndefined();
    expect(parseMoneyAmount("1", "usd")).toBeUndefined();
    expect(parseMoneyAmount("1", "")).toBeUndefined();
  });

  it("keeps the currency it was given", () => {
    expect(parseMoneyAmount("2.5", "EUR")).toEqual(eur(2_500_000_000n));
  });
});

describe("isCurrencyCode()", () => {
  it.each(["USD", "EUR", "JPY", "GBP", "CHF"])("accepts %s", (code) => {
    expect(isCurrencyCode(code)).toBe(true);
  });

  it.each(["usd", "Usd", "XYZ", "US", "USDD", "", " USD", "US1"])("rejects %j", (code) => {
    expect(isCurrencyCode(code)).toBe(false);
  });
});
