import { create } from "@bufbuild/protobuf";
import { MoneySchema, type Money as MoneyProto } from "../../gen/dreamnet/cost/v1/money_pb.js";
import { isCurrencyCode } from "../domain/currency.js";
import { moneyFromParts, moneyToParts, type Money } from "../domain/money.js";
import { fieldPath, type FieldViolation } from "./field-violation.js";

/** The wire Money of a domain amount. */
export function moneyToProto(money: Money): MoneyProto {
  const { units, nanos } = moneyToParts(money);
  return create(MoneySchema, { currencyCode: money.currency, units, nanos });
}

/** A domain amount from a wire Money, or the violation naming the part at fault (under `field`). */
export function moneyFromProto(proto: MoneyProto | undefined, field: string): Money | FieldViolation {
  if (!proto) return { field, description: "is required" };
  if (!isCurrencyCode(proto.currencyCode)) {
    return { field: fieldPath(field, "currency_code"), description: `must be an ISO 4217 code such as "USD" (got ${quote(proto.currencyCode)})` };
  }
  if (proto.nanos < -999_999_999 || proto.nanos > 999_999_999) {
    return { field: fieldPath(field, "nanos"), description: "must be between -999999999 and 999999999" };
  }
  if ((proto.units > 0n && proto.nanos < 0) || (proto.units < 0n && proto.nanos > 0)) {
    return { field: fieldPath(field, "nanos"), description: "must have the same sign as units" };
  }
  return moneyFromParts(proto.currencyCode, proto.units, proto.nanos);
}

/** A string shown in an error message: quoted, cut to 40 characters, control characters escaped. */
export function quote(value: string): string {
  const cut = value.length > 40 ? `${value.slice(0, 40)}...` : value;
  return JSON.stringify(cut);
}

/** Whether a value is a FieldViolation rather than a result. */
export function isViolation(value: unknown): value is FieldViolation {
  return typeof value === "object" && value !== null && "field" in value && "description" in value;
}
