import type { CostClient } from "./dashboard-client.js";
import { h } from "./dom.js";
import { decimalText, exactMoneyText, moneyText, type Money } from "./money-text.js";
import type { RpcFailure } from "./rpc-failure.js";

/** What every view gets from the page. */
export interface ViewContext {
  readonly client: CostClient;
  /** The reader's locale for numbers and dates (undefined: the browser's). */
  readonly locale: string | undefined;
  now(): number;
  /** Reports a failed call; an UNAUTHENTICATED one opens the API key form. */
  failed(failure: RpcFailure): void;
  /** Says something to screen readers through the page's live region. */
  announce(text: string): void;
}

/** An amount as the page shows it: formatted for the reader, the exact decimal kept in data-exact and the title. */
export function moneyElement(money: Money, locale: string | undefined): HTMLElement {
  return h("span", { class: "money", "data-exact": decimalText(money), "data-currency": money.currency, title: exactMoneyText(money) }, moneyText(money, locale));
}

/** A count in the reader's locale, e.g. "1,234". */
export function countText(count: bigint | number, locale: string | undefined): string {
  return new Intl.NumberFormat(locale).format(count);
}

/** A percentage such as 82.5 as "82.5 %" in the reader's locale. */
export function percentText(percent: number, locale: string | undefined): string {
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 2 }).format(percent / 100);
}
