import type { StoredCostRecord } from "../domain/cost-record.js";
import type { TimeRange } from "../domain/time.js";
import type { CostStore } from "./cost-store.js";

/** What to export. */
export interface ExportQuery {
  readonly clusterIds?: readonly string[] | undefined;
  readonly range: TimeRange;
  readonly pageSize: number;
}

/**
 * The raw records of a range in (timestamp, commit) order, a page at a time: only
 * one page is held in memory, and the next is read when the consumer asks for it.
 */
export async function* exportRecords(store: CostStore, query: ExportQuery): AsyncGenerator<readonly StoredCostRecord[]> {
  let after: string | undefined;
  do {
    const page = await store.listRecords({ ...query.range, clusterIds: query.clusterIds, after, limit: query.pageSize });
    if (page.records.length > 0) yield page.records;
    after = page.next;
  } while (after !== undefined);
}
