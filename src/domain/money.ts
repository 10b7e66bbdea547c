import { isCurrencyCode } from "./currency.js";

/** Nano-units in one unit of a currency: Money keeps amounts as exact integers of these. */
export const NANOS_PER_UNIT = 1_000_000_000n;

/** An exact amount in one currency, in integer nano-units (10^-9 of a unit). */
export interface Money {
  readonly currency: string;
  readonly nanos: bigint;
}

/** Raised when amounts of two currencies meet in one sum or comparison. */
export class CurrencyMismatchError extends Error {
  constructor(
    readonly left: string,
    readonly right: string,
  ) {
    super(`cannot combine ${left} with ${right}`);
    this.name = "CurrencyMismatchError";
  }
}

/** The amount zero in a currency. */
export function zeroMoney(currency: string): Money {
  return { currency, nanos: 0n };
}

/** Money from the google.type.Money parts (units and nanos share a sign). */
export function moneyFromParts(currency: string, units: bigint, nanos: number): Money {
  return { currency, nanos: units * NANOS_PER_UNIT + BigInt(nanos) };
}

/** The google.type.Money parts of an amount: nanos in -999,999,999..999,999,999 with the sign of units. */
export function moneyToParts(money: Money): { units: bigint; nanos: number } {
  // bigint division truncates toward zero, so both parts keep the sign of the whole.
  const units = money.nanos / NANOS_PER_UNIT;
  return { units, nanos: Number(money.nanos - units * NANOS_PER_UNIT) };
}

/** a + b; both in the same currency. */
export function addMoney(a: Money, b: Money): Money {
  assertSameCurrency(a, b);
  return { currency: a.currency, nanos: a.nanos + b.nanos };
}

/** a - b; both in the same currency. */
export function subtractMoney(a: Money, b: Money): Money {
  assertSameCurrency(a, b);
  return { currency: a.currency, nanos: a.nanos - b.nanos };
}

/** Negative, zero or positive as a is less than, equal to or greater than b. */
export function compareMoney(a: Money, b: Money): number {
  assertSameCurrency(a, b);
  return a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0;
}

/** part / whole * 100, rounded half up to two decimals; 0 when whole is zero. */
export function percentOf(part: Money, whole: Money): number {
  assertSameCurrency(part, whole);
  if (whole.nanos === 0n) return 0;
  // Scale before dividing so the only rounding is the final one, done in integers
  // on magnitudes (bigint division truncates toward zero) with the sign put back.
  const negative = part.nanos < 0n !== whole.nanos < 0n && part.nanos !== 0n;
  const p = part.nanos < 0n ? -part.nanos : part.nanos;
  const w = whole.nanos < 0n ? -whole.nanos : whole.nanos;
  const hundredths = (p * 10_000n * 2n + w) / (w * 2n);
  return Number(negative ? -hundredths : hundredths) / 100;
}

/** The share `numerator/denominator` of an amount, rounded toward zero to a nano-unit. */
export function scaleMoney(money: Money, numerator: bigint, denominator: bigint): Money {
  return { currency: money.currency, nanos: (money.nanos * numerator) / denominator };
}

/** A plain decimal string of the amount without trailing zeros, e.g. "0.002" or "20". */
export function formatMoneyAmount(money: Money): string {
  const negative = money.nanos < 0n;
  const abs = negative ? -money.nanos : money.nanos;
  const whole = abs / NANOS_PER_UNIT;
  const fraction = (abs % NANOS_PER_UNIT).toString().padStart(9, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}

/** "20 USD", "0.002 USD". */
export function formatMoney(money: Money): string {
  return `${formatMoneyAmount(money)} ${money.currency}`;
}

/** Parses a decimal amount such as "0.002" or "-12.5" exactly; undefined if malformed or finer than nanos. */
export function parseMoneyAmount(text: string, currency: string): Money | undefined {
  const match = /^(-)?(\d{1,18})(?:\.(\d{1,9}))?$/.exec(text.trim());
  if (!match || !isCurrencyCode(currency)) return undefined;
  const [, sign, whole = "0", fraction = ""] = match;
  const nanos = BigInt(whole) * NANOS_PER_UNIT + BigInt(fraction.padEnd(9, "0"));
  return { currency, nanos: sign ? -nanos : nanos };
}

function assertSameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) throw new CurrencyMismatchError(a.currency, b.currency);
}
