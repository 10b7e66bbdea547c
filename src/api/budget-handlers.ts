import { create } from "@bufbuild/protobuf";
import {
  DeleteBudgetResponseSchema,
  GetBudgetResponseSchema,
  GetBudgetStatusResponseSchema,
  ListBudgetsResponseSchema,
  SetBudgetResponseSchema,
  type DeleteBudgetRequest,
  type DeleteBudgetResponse,
  type GetBudgetRequest,
  type GetBudgetResponse,
  type GetBudgetStatusRequest,
  type GetBudgetStatusResponse,
  type ListBudgetsRequest,
  type ListBudgetsResponse,
  type SetBudgetRequest,
  type SetBudgetResponse,
} from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import type { HandlerContext } from "@connectrpc/connect";
import type { CostCore } from "../core/cost-core.js";
import type { Budget } from "../domain/budget.js";
import { principalOf, requireCluster, visibleClusters } from "./auth/principal.js";
import { budgetFromProto, budgetStatusToProto, budgetToProto } from "./budget-mapping.js";
import { decodePageToken, encodePageToken, optionalId, pageSize, requiredId } from "./request-fields.js";

/** SetBudget, GetBudget, ListBudgets, DeleteBudget and GetBudgetStatus. */
export function createBudgetHandlers(core: CostCore) {
  /** A budget the caller may see: NotFound if missing, PermissionDenied if it belongs to a cluster the key cannot touch. */
  const allowedBudget = async (id: string, context: HandlerContext): Promise<Budget> => {
    const budget = await core.budgets.get(requiredId(id, "budget_id"));
    requireCluster(principalOf(context), budget.clusterId, "budget_id");
    return budget;
  };
  return {
    async setBudget(request: SetBudgetRequest, context: HandlerContext): Promise<SetBudgetResponse> {
      const input = budgetFromProto(request.budget, "budget");
      const principal = principalOf(context);
      requireCluster(principal, input.clusterId, "budget.cluster_id");
      // Replacing a budget moves it between clusters only if the key may touch both.
      const existing = await core.budgets.find(input.id);
      if (existing) requireCluster(principal, existing.clusterId, "budget.id");
      const { budget, created } = await core.budgets.set(input, principal.id);
      return create(SetBudgetResponseSchema, { budget: budgetToProto(budget), created });
    },
    async getBudget(request: GetBudgetRequest, context: HandlerContext): Promise<GetBudgetResponse> {
      const budget = await allowedBudget(request.budgetId, context);
      return create(GetBudgetResponseSchema, { budget: budgetToProto(budget) });
    },
    async listBudgets(request: ListBudgetsRequest, context: HandlerContext): Promise<ListBudgetsResponse> {
      const clusterId = optionalId(request.clusterId, "cluster_id");
      const page = await core.budgets.list({
        clusterIds: visibleClusters(principalOf(context), clusterId),
        after: decodePageToken(request.pageToken),
        limit: pageSize(request.pageSize, "page_size", 100, 500),
      });
      return create(ListBudgetsResponseSchema, {
        budgets: page.budgets.map(budgetToProto),
        nextPageToken: page.nextAfter === undefined ? "" : encodePageToken(page.nextAfter),
      });
    },
    async deleteBudget(request: DeleteBudgetRequest, context: HandlerContext): Promise<DeleteBudgetResponse> {
      const before = await core.budgets.delete((await allowedBudget(request.budgetId, context)).id, principalOf(context).id);
      return create(DeleteBudgetResponseSchema, { budget: budgetToProto(before) });
    },
    async getBudgetStatus(request: GetBudgetStatusRequest, context: HandlerContext): Promise<GetBudgetStatusResponse> {
      const status = await core.budgets.status((await allowedBudget(request.budgetId, context)).id);
      return create(GetBudgetStatusResponseSchema, { status: budgetStatusToProto(status) });
    },
  };
}
