import { toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { AuditEventSchema, type AuditEvent } from "../../gen/dreamnet/cost/v1/audit_pb.js";
import { clientFrom, withClientOptions, type ClientFlags } from "./client-options.js";
import { table, toJsonText } from "./format.js";

/** Adds `audit list` (admin). */
export function addAuditCommand(program: Command, run: (server: string, work: () => Promise<void>) => Promise<void>): void {
  const audit = program.command("audit").description("the audit log of budget, acknowledgment and key changes (admin)");
  withClientOptions(
    audit
      .command("list")
      .description("audit events, newest first")
      .option("--actor <id>", "only changes by this API key")
      .option("--resource-type <type>", "budget, alert or api_key")
      .option("--resource-id <id>", "only this resource")
      .option("--cluster <id>", "only this cluster")
      .option("--limit <n>", "at most this many events", "100"),
  ).action((flags: ClientFlags & { actor?: string; resourceType?: string; resourceId?: string; cluster?: string; limit: string }) =>
    run(flags.server, async () => {
      const client = clientFrom(flags);
      const limit = Math.max(1, Number(flags.limit) || 100);
      const events: AuditEvent[] = [];
      let pageToken = "";
      do {
        const page = await client.listAuditEvents({
          actor: flags.actor ?? "",
          resourceType: flags.resourceType ?? "",
          resourceId: flags.resourceId ?? "",
          clusterId: flags.cluster ?? "",
          pageSize: Math.min(500, limit - events.length),
          pageToken,
        });
        events.push(...page.events);
        pageToken = page.nextPageToken;
      } while (pageToken && events.length < limit);
      if (flags.json) return void process.stdout.write(`${toJsonText(events.map((e) => toJson(AuditEventSchema, e)))}\n`);
      if (events.length === 0) return void process.stdout.write("no audit events\n");
      const rows = events.map((e) => [e.id, e.eventTime ? timestampDate(e.eventTime).toISOString() : "", e.actor, e.action, e.resourceId, e.clusterId || "-"]);
      process.stdout.write(`${table(["ID", "TIME", "ACTOR", "ACTION", "RESOURCE", "CLUSTER"], rows)}\n`);
    }),
  );
}
