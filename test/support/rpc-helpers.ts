import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { CostRecord } from "../../gen/dreamnet/cost/v1/cost_record_pb.js";
import type { ExportCostsRequestSchema } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import type { CostSummary } from "../../gen/dreamnet/cost/v1/cost_summary_pb.js";
import type { CostClient } from "../../src/client/index.js";

/** The error a call failed with; fails the test if the call succeeded. */
export async function connectErrorOf(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** A cluster's summary, or undefined when the server answers NOT_FOUND. */
export async function summaryOrNone(client: CostClient, clusterId: string): Promise<CostSummary | undefined> {
  try {
    return (await client.getCostSummary({ clusterId })).summary;
  } catch (error) {
    if (ConnectError.from(error).code === Code.NotFound) return undefined;
    throw error;
  }
}

/** Every message of an ExportCosts stream, as the pages the server sent. */
export async function exportPages(client: CostClient, request: MessageInitShape<typeof ExportCostsRequestSchema> = {}): Promise<CostRecord[][]> {
  const pages: CostRecord[][] = [];
  for await (const response of client.exportCosts(request)) pages.push(response.records);
  return pages;
}

/** Every record of an ExportCosts stream, in stream order. */
export async function exportAll(client: CostClient, request: MessageInitShape<typeof ExportCostsRequestSchema> = {}): Promise<CostRecord[]> {
  return (await exportPages(client, request)).flat();
}
