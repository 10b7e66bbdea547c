import type { Alert } from "../domain/alert.js";
import type { Budget } from "../domain/budget.js";
import type { Money } from "../domain/money.js";

/** An alert as JSON-safe data (amounts as decimal strings of nanos), the form both adapters store. */
export type StoredAlert = Omit<Alert, "threshold" | "currentCost"> & {
  readonly threshold: StoredMoney;
  readonly currentCost: StoredMoney;
};

/** Money as JSON-safe data. */
export interface StoredMoney {
  readonly currency: string;
  readonly nanos: string;
}

/** The stored form of an amount. */
export function moneyToStored(money: Money): StoredMoney {
  return { currency: money.currency, nanos: money.nanos.toString() };
}

/** An amount from its stored form. */
export function moneyFromStored(stored: StoredMoney): Money {
  return { currency: stored.currency, nanos: BigInt(stored.nanos) };
}

/** The stored form of an alert. */
export function alertToStored(alert: Alert): StoredAlert {
  return { ...alert, threshold: moneyToStored(alert.threshold), currentCost: moneyToStored(alert.currentCost) };
}

/** An alert from its stored form. */
export function alertFromStored(stored: StoredAlert): Alert {
  return { ...stored, threshold: moneyFromStored(stored.threshold), currentCost: moneyFromStored(stored.currentCost) };
}

/** A budget as JSON-safe data. */
export type StoredBudget = Omit<Budget, "amount"> & { readonly amount: StoredMoney };

/** The stored form of a budget. */
export function budgetToStored(budget: Budget): StoredBudget {
  return { ...budget, amount: moneyToStored(budget.amount) };
}

/** A budget from its stored form. */
export function budgetFromStored(stored: StoredBudget): Budget {
  return { ...stored, amount: moneyFromStored(stored.amount) };
}
