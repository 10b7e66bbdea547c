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
import type { CostCore } from "../core/cost-core.js";
import { budgetFromProto, budgetStatusToProto, budgetToProto } from "./budget-mapping.js";
import { decodePageToken, encodePageToken, optionalId, pageSize, requiredId } from "./request-fields.js";

/** SetBudget, GetBudget, ListBudgets, DeleteBudget and GetBudgetStatus. */
export function createBudgetHandlers(core: CostCore) {
  return {
    async setBudget(request: SetBudgetRequest): Promise<SetBudgetResponse> {
      const input = budgetFromProto(request.budget, "budget");
      const { budget, created } = await core.budgets.set(input);
      return create(SetBudgetResponseSchema, { budget: budgetToProto(budget), created });
    },
    async getBudget(request: GetBudgetRequest): Promise<GetBudgetResponse> {
      const budget = await core.budgets.get(requiredId(request.budgetId, "budget_id"));
      return create(GetBudgetResponseSchema, { budget: budgetToProto(budget) });
    },
    async listBudgets(request: ListBudgetsRequest): Promise<ListBudgetsResponse> {
      const clusterId = optionalId(request.clusterId, "cluster_id");
      const page = await core.budgets.list({
        clusterIds: clusterId === undefined ? undefined : [clusterId],
        after: decodePageToken(request.pageToken),
        limit: pageSize(request.pageSize, "page_size", 100, 500),
      });
      return create(ListBudgetsResponseSchema, {
        budgets: page.budgets.map(budgetToProto),
        nextPageToken: page.nextAfter === undefined ? "" : encodePageToken(page.nextAfter),
      });
    },
    async deleteBudget(request: DeleteBudgetRequest): Promise<DeleteBudgetResponse> {
      const before = await core.budgets.delete(requiredId(request.budgetId, "budget_id"));
      return create(DeleteBudgetResponseSchema, { budget: budgetToProto(before) });
    },
    async getBudgetStatus(request: GetBudgetStatusRequest): Promise<GetBudgetStatusResponse> {
      const status = await core.budgets.status(requiredId(request.budgetId, "budget_id"));
      return create(GetBudgetStatusResponseSchema, { status: budgetStatusToProto(status) });
    },
  };
}
