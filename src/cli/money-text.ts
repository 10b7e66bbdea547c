import type { Money } from "../../gen/dreamnet/cost/v1/money_pb.js";
import { formatMoneyAmount, moneyFromParts } from "../domain/money.js";

/** A wire amount as plain decimal text, e.g. "0.002"; "" when unset. */
export function amountText(money: Money | undefined): string {
  return money ? formatMoneyAmount(moneyFromParts(money.currencyCode, money.units, money.nanos)) : "";
}
