/** What an API key may do. `admin` implies every other scope. */
export const SCOPES = ["costs:write", "costs:read", "budgets:read", "budgets:write", "alerts:read", "alerts:ack", "admin"] as const;

/** One scope. */
export type Scope = (typeof SCOPES)[number];

/** Whether a string names a scope. */
export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** The scope each CostService method needs. */
export const METHOD_SCOPES: Readonly<Record<string, Scope>> = {
  RecordCost: "costs:write",
  RecordCosts: "costs:write",
  GetCostSummary: "costs:read",
  ListCostSummaries: "costs:read",
  GetCostBreakdown: "costs:read",
  GetCostSeries: "costs:read",
  ExportCosts: "costs:read",
  SetBudget: "budgets:write",
  DeleteBudget: "budgets:write",
  GetBudget: "budgets:read",
  ListBudgets: "budgets:read",
  GetBudgetStatus: "budgets:read",
  ListAlerts: "alerts:read",
  WatchAlerts: "alerts:read",
  AcknowledgeAlert: "alerts:ack",
  ListAuditEvents: "admin",
  VerifyStore: "admin",
};
