import { toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { CostSummarySchema, type CostSummary } from "../../gen/dreamnet/cost/v1/cost_summary_pb.js";
import { amountText } from "./money-text.js";
import { clientFrom, type ClientFlags } from "./client-options.js";
import { table, toJsonText } from "./format.js";

/** `cost-core summary [cluster]`: one cluster's summary, or every cluster's. */
export async function summaryCommand(clusterId: string | undefined, flags: ClientFlags): Promise<void> {
  const client = clientFrom(flags);
  const summaries: CostSummary[] = [];
  if (clusterId) {
    const response = await client.getCostSummary({ clusterId });
    if (response.summary) summaries.push(response.summary);
  } else {
    let pageToken = "";
    do {
      const page = await client.listCostSummaries({ pageSize: 500, pageToken });
      summaries.push(...page.summaries);
      pageToken = page.nextPageToken;
    } while (pageToken);
  }
  if (flags.json) {
    process.stdout.write(`${toJsonText(summaries.map((s) => toJson(CostSummarySchema, s)))}\n`);
    return;
  }
  if (summaries.length === 0) {
    process.stdout.write("no costs recorded yet\n");
    return;
  }
  const rows = summaries.flatMap((s) =>
    s.currencies.map((c) => [
      s.clusterId,
      c.currencyCode,
      amountText(c.costToday),
      amountText(c.costThisWeek),
      amountText(c.costThisMonth),
      amountText(c.totalCost),
      c.recordCount.toString(),
      s.lastUpdateTime ? timestampDate(s.lastUpdateTime).toISOString() : "",
    ]),
  );
  process.stdout.write(`${table(["CLUSTER", "CURRENCY", "24H", "7D", "30D", "TOTAL", "RECORDS", "LAST UPDATE"], rows)}\n`);
}
