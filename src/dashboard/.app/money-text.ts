import type { Money as WireMoney } from "../../../gen/dreamnet/cost/v1/money_pb.js";
import { addMoney, formatMoney, formatMoneyAmount, moneyFromParts, percentOf, zeroMoney, type Money } from "../../domain/money.js";

export type { Money };

/**
 * The exact amount of a wire Money (units + nanos, as integers). An unset amount
 * reads as zero in `fallbackCurrency`.
 */
export function moneyFromWire(wire: WireMoney | undefined, fallbackCurrency = ""): Money {
  if (!wire) return zeroMoney(fallbackCurrency);
  return moneyFromParts(wire.currencyCode, wire.units, wire.nanos);
}

/** The exact sum of amounts in one currency (integer nano-units, never floats). */
export function sumMoney(amounts: readonly Money[], currency: string): Money {
  return amounts.reduce(addMoney, zeroMoney(currency));
}

/** A plain exact decimal, e.g. "12.345" or "0.002". */
export function decimalText(money: Money): string {
  return formatMoneyAmount(money);
}

/** The exact amount with its code, e.g. "12.345 USD": for titles and screen readers. */
export function exactMoneyText(money: Money): string {
  return formatMoney(money);
}

/** part / whole as a percentage rounded to two decimals (0 when whole is zero). */
export function sharePercent(part: Money, whole: Money): number {
  return percentOf(part, whole);
}

const formatters = new Map<string, Intl.NumberFormat | undefined>();

/**
 * The amount in the reader's locale, e.g. "$1,234.50" or "0,002 €". The exact
 * decimal string goes to Intl.NumberFormat, which formats strings without
 * converting to a float; up to nine fraction digits are kept, so 0.002 stays
 * 0.002 and no amount is rounded away.
 */
export function moneyText(money: Money, locale: string | undefined): string {
  const key = `${locale ?? ""}|${money.currency}`;
  let format = formatters.get(key);
  if (!formatters.has(key)) {
    try {
      format = new Intl.NumberFormat(locale, { style: "currency", currency: money.currency, maximumFractionDigits: 9 });
    } catch {
      // A code this runtime's ICU does not know: plain "12.5 XYZ" below.
      format = undefined;
    }
    formatters.set(key, format);
  }
  return format ? format.format(decimalText(money) as `${number}`) : exactMoneyText(money);
}

/** A short axis label, e.g. "$1.2K": for chart ticks only, never for totals. */
export function compactMoneyText(value: number, currency: string, locale: string | undefined): string {
  try {
    return new Intl.NumberFormat(locale, { style: "currency", currency, notation: "compact", maximumFractionDigits: 2 }).format(value);
  } catch {
    return `${value} ${currency}`;
  }
}

/** A float for drawing a chart bar: plotting is the one place an approximation is fine. */
export function moneyForPlot(money: Money): number {
  return Number(money.nanos) / 1e9;
}
