import { fromBinary, fromJsonString, toBinary, toJsonString, type DescMessage, type Message } from "@bufbuild/protobuf";
import {
  AcknowledgeAlertRequestSchema,
  DeleteBudgetRequestSchema,
  ExportCostsRequestSchema,
  GetBudgetRequestSchema,
  GetBudgetStatusRequestSchema,
  GetCostBreakdownRequestSchema,
  GetCostSeriesRequestSchema,
  GetCostSummaryRequestSchema,
  ListAlertsRequestSchema,
  ListAuditEventsRequestSchema,
  ListBudgetsRequestSchema,
  ListCostSummariesRequestSchema,
  RecordCostRequestSchema,
  RecordCostsRequestSchema,
  SetBudgetRequestSchema,
  WatchAlertsRequestSchema,
} from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import type { Scope } from "../../src/api/auth/scopes.js";
import { concatBytes, envelope } from "./security-raw-rpc.js";

/** The CostService RPCs, as the security suites name them. */
export type RpcName =
  | "RecordCost"
  | "RecordCosts"
  | "GetCostSummary"
  | "ListCostSummaries"
  | "GetCostBreakdown"
  | "GetCostSeries"
  | "ExportCosts"
  | "SetBudget"
  | "GetBudget"
  | "ListBudgets"
  | "DeleteBudget"
  | "GetBudgetStatus"
  | "ListAlerts"
  | "AcknowledgeAlert"
  | "WatchAlerts"
  | "ListAuditEvents";

/** The scope each RPC needs, as the proto and DESIGN.md ("Security") describe them; admin holds every scope. */
export const RPC_SCOPES: Readonly<Record<RpcName, Scope>> = {
  RecordCost: "costs:write",
  RecordCosts: "costs:write",
  GetCostSummary: "costs:read",
  ListCostSummaries: "costs:read",
  GetCostBreakdown: "costs:read",
  GetCostSeries: "costs:read",
  ExportCosts: "costs:read",
  SetBudget: "budgets:write",
  GetBudget: "budgets:read",
  ListBudgets: "budgets:read",
  DeleteBudget: "budgets:write",
  GetBudgetStatus: "budgets:read",
  ListAlerts: "alerts:read",
  AcknowledgeAlert: "alerts:ack",
  WatchAlerts: "alerts:read",
  ListAuditEvents: "admin",
};

/** Every RPC name, in proto order. */
export const RPC_NAMES = Object.keys(RPC_SCOPES) as RpcName[];

/** The path prefix of CostService methods. */
export const SERVICE_PATH = "/dreamnet.cost.v1.CostService/";

/** Each RPC's request schema and streaming shape. */
export const RPC_METHODS: Readonly<Record<RpcName, { readonly input: DescMessage; readonly kind: "unary" | "client" | "server" }>> = {
  RecordCost: { input: RecordCostRequestSchema, kind: "unary" },
  RecordCosts: { input: RecordCostsRequestSchema, kind: "client" },
  GetCostSummary: { input: GetCostSummaryRequestSchema, kind: "unary" },
  ListCostSummaries: { input: ListCostSummariesRequestSchema, kind: "unary" },
  GetCostBreakdown: { input: GetCostBreakdownRequestSchema, kind: "unary" },
  GetCostSeries: { input: GetCostSeriesRequestSchema, kind: "unary" },
  ExportCosts: { input: ExportCostsRequestSchema, kind: "server" },
  SetBudget: { input: SetBudgetRequestSchema, kind: "unary" },
  GetBudget: { input: GetBudgetRequestSchema, kind: "unary" },
  ListBudgets: { input: ListBudgetsRequestSchema, kind: "unary" },
  DeleteBudget: { input: DeleteBudgetRequestSchema, kind: "unary" },
  GetBudgetStatus: { input: GetBudgetStatusRequestSchema, kind: "unary" },
  ListAlerts: { input: ListAlertsRequestSchema, kind: "unary" },
  AcknowledgeAlert: { input: AcknowledgeAlertRequestSchema, kind: "unary" },
  WatchAlerts: { input: WatchAlertsRequestSchema, kind: "server" },
  ListAuditEvents: { input: ListAuditEventsRequestSchema, kind: "unary" },
};

/** How a body is framed and encoded: gRPC (binary), or Connect with binary or JSON messages. */
export type Wire = "grpc" | "connect-proto" | "connect-json";

/** Whether the body is framed in envelopes: always for gRPC, for streaming methods in Connect. */
export function isEnveloped(wire: Wire, rpc: RpcName | "unknown"): boolean {
  return wire === "grpc" || (rpc !== "unknown" && RPC_METHODS[rpc].kind !== "unary");
}

/** The body of a call carrying `messages` (one for unary methods), framed for the wire; throws if JSON cannot carry a value. */
export function encodeBody(rpc: RpcName, wire: Wire, messages: readonly Message[]): Uint8Array {
  const schema = RPC_METHODS[rpc].input;
  const parts = messages.map((m) => (wire === "connect-json" ? new TextEncoder().encode(toJsonString(schema, m)) : toBinary(schema, m)));
  if (!isEnveloped(wire, rpc)) return parts[0] ?? new Uint8Array(0);
  return concatBytes(parts.map((part) => envelope(part)));
}

/** A message decoded as the server decodes it (Connect ignores unknown JSON fields), or undefined when it cannot be. */
export function decodeMessage(schema: DescMessage, bytes: Uint8Array, json: boolean): Message | undefined {
  try {
    return json ? fromJsonString(schema, new TextDecoder().decode(bytes), { ignoreUnknownFields: true }) : fromBinary(schema, bytes);
  } catch {
    return undefined;
  }
}
