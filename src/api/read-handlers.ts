import { create } from "@bufbuild/protobuf";
import { SeriesGranularity } from "../../gen/dreamnet/cost/v1/cost_summary_pb.js";
import {
  ExportCostsResponseSchema,
  GetCostBreakdownResponseSchema,
  GetCostSeriesResponseSchema,
  GetCostSummaryResponseSchema,
  ListCostSummariesResponseSchema,
  type ExportCostsRequest,
  type ExportCostsResponse,
  type GetCostBreakdownRequest,
  type GetCostBreakdownResponse,
  type GetCostSeriesRequest,
  type GetCostSeriesResponse,
  type GetCostSummaryRequest,
  type GetCostSummaryResponse,
  type ListCostSummariesRequest,
  type ListCostSummariesResponse,
} from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import type { HandlerContext } from "@connectrpc/connect";
import type { CostCore } from "../core/cost-core.js";
import { principalOf, requireCluster, visibleClusters } from "./auth/principal.js";
import { RECORD_LIMITS } from "../domain/limits.js";
import { DAY_MS, HOUR_MS } from "../domain/time.js";
import { invalidArgument } from "./field-violation.js";
import { breakdownEntryToProto, dimensionFromProto, recordToProto, seriesPointToProto, summaryToProto } from "./read-mapping.js";
import { timestampFromMs } from "./time-mapping.js";
import { decodePageToken, encodePageToken, optionalId, pageSize, requiredId, timeRange, timeZone } from "./request-fields.js";

/** Summaries, breakdowns, series and export: validate, call the core, map back. */
export function createReadHandlers(core: CostCore) {
  return {
    async getCostSummary(request: GetCostSummaryRequest, context: HandlerContext): Promise<GetCostSummaryResponse> {
      const clusterId = requiredId(request.clusterId, "cluster_id");
      requireCluster(principalOf(context), clusterId, "cluster_id");
      return create(GetCostSummaryResponseSchema, { summary: summaryToProto(await core.summaries.get(clusterId)) });
    },

    async listCostSummaries(request: ListCostSummariesRequest, context: HandlerContext): Promise<ListCostSummariesResponse> {
      const limit = pageSize(request.pageSize, "page_size", 100, 500);
      const visible = visibleClusters(principalOf(context), undefined);
      const page = await core.summaries.list({ after: decodePageToken(request.pageToken), limit, visible });
      return create(ListCostSummariesResponseSchema, {
        summaries: page.summaries.map(summaryToProto),
        nextPageToken: page.nextAfter === undefined ? "" : encodePageToken(page.nextAfter),
      });
    },

    async getCostBreakdown(request: GetCostBreakdownRequest, context: HandlerContext): Promise<GetCostBreakdownResponse> {
      const clusterId = optionalId(request.clusterId, "cluster_id");
      const dimension = dimensionFromProto(request.dimension, "dimension", true);
      const range = timeRange(request.startTime, request.endTime, { endMs: core.clock.now(), lengthMs: 30 * DAY_MS });
      const entries = await core.breakdown({ clusterIds: visibleClusters(principalOf(context), clusterId), dimension: dimension ?? "provider", range });
      return create(GetCostBreakdownResponseSchema, {
        entries: entries.map(breakdownEntryToProto),
        startTime: timestampFromMs(range.fromMs),
        endTime: timestampFromMs(range.toMs),
      });
    },

    async getCostSeries(request: GetCostSeriesRequest, context: HandlerContext): Promise<GetCostSeriesResponse> {
      const clusterId = optionalId(request.clusterId, "cluster_id");
      const granularity = granularityFromProto(request.granularity);
      const zone = timeZone(request.timeZone, "time_zone");
      const range = timeRange(request.startTime, request.endTime, {
        endMs: core.clock.now(),
        lengthMs: granularity === "hour" ? 24 * HOUR_MS : 30 * DAY_MS,
      });
      const splitBy = dimensionFromProto(request.splitBy, "split_by", false);
      const points = await core.series({ clusterIds: visibleClusters(principalOf(context), clusterId), granularity, range, splitBy, timeZone: zone });
      return create(GetCostSeriesResponseSchema, { points: points.map(seriesPointToProto) });
    },

    async *exportCosts(request: ExportCostsRequest, context: HandlerContext): AsyncGenerator<ExportCostsResponse> {
      const clusterId = optionalId(request.clusterId, "cluster_id");
      const size = pageSize(request.pageSize, "page_size", 1_000, 5_000);
      const range = timeRange(request.startTime, request.endTime, {
        // Exclusive end one past the newest timestamp ingestion accepts.
        endMs: core.clock.now() + RECORD_LIMITS.maxFutureSkewMs + 1,
        startMs: RECORD_LIMITS.minTimestampMs,
      });
      for await (const records of core.exportRecords({ clusterIds: visibleClusters(principalOf(context), clusterId), range, pageSize: size })) {
        yield create(ExportCostsResponseSchema, { records: records.map(recordToProto) });
      }
    },
  };
}

function granularityFromProto(value: SeriesGranularity): "hour" | "day" {
  switch (value) {
    case SeriesGranularity.UNSPECIFIED:
    case SeriesGranularity.HOUR:
      return "hour";
    case SeriesGranularity.DAY:
      return "day";
    default:
      throw invalidArgument({ field: "granularity", description: `has unknown value ${String(value)}` });
  }
}
