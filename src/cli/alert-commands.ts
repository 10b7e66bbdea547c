import { toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Command } from "commander";
import { AlertEventType, AlertKind, CostAlertSchema, type CostAlert } from "../../gen/dreamnet/cost/v1/alert_pb.js";
import { AlertState, WatchAlertsResponseSchema } from "../../gen/dreamnet/cost/v1/cost_service_pb.js";
import { clientFrom, UsageError, withClientOptions, type ClientFlags } from "./client-options.js";
import { table, toJsonText } from "./format.js";
import { amountText } from "./money-text.js";

/** Adds `alerts list|ack|watch`. */
export function addAlertCommands(program: Command, run: (server: string, work: () => Promise<void>) => Promise<void>): void {
  const alerts = program.command("alerts").description("list, acknowledge and watch budget alerts");

  withClientOptions(
    alerts
      .command("list")
      .description("alerts, the active ones by default")
      .option("--cluster <id>", "only this cluster")
      .option("--state <state>", "active, acknowledged or all", "active"),
  ).action((flags: ClientFlags & { cluster?: string; state: string }) =>
    run(flags.server, async () => {
      const state = { active: AlertState.ACTIVE, acknowledged: AlertState.ACKNOWLEDGED, all: AlertState.ALL }[flags.state];
      if (state === undefined) throw new UsageError(`--state must be active, acknowledged or all (got "${flags.state}")`);
      const client = clientFrom(flags);
      const found: CostAlert[] = [];
      let pageToken = "";
      do {
        const page = await client.listAlerts({ clusterId: flags.cluster ?? "", state, pageSize: 500, pageToken });
        found.push(...page.alerts);
        pageToken = page.nextPageToken;
      } while (pageToken);
      if (flags.json) {
        process.stdout.write(`${toJsonText(found.map((a) => toJson(CostAlertSchema, a)))}\n`);
        return;
      }
      if (found.length === 0) {
        process.stdout.write("no alerts\n");
        return;
      }
      process.stdout.write(`${table(["ID", "CLUSTER", "BUDGET", "KIND", "AT", "COST", "TRIGGERED", "ACKED BY"], found.map(alertRow))}\n`);
    }),
  );

  withClientOptions(alerts.command("ack").description("acknowledge an alert").argument("<id>", "alert id").option("--note <text>", "why, or what was done")).action(
    (id: string, flags: ClientFlags & { note?: string }) =>
      run(flags.server, async () => {
        const response = await clientFrom(flags).acknowledgeAlert({ alertId: id, note: flags.note ?? "" });
        if (flags.json) {
          process.stdout.write(`${toJsonText({ newlyAcknowledged: response.newlyAcknowledged, alert: response.alert ? toJson(CostAlertSchema, response.alert) : null })}\n`);
          return;
        }
        process.stdout.write(response.newlyAcknowledged ? `acknowledged ${id}\n` : `${id} was already acknowledged by ${response.alert?.acknowledgedBy ?? "?"}\n`);
      }),
  );

  withClientOptions(
    alerts
      .command("watch")
      .description("print alert events as they happen (Ctrl-C to stop)")
      .option("--cluster <id>", "only this cluster")
      .option("--resume-after <cursor>", "replay the events after this cursor first")
      .option("--active", "print the active alerts first"),
  ).action((flags: ClientFlags & { cluster?: string; resumeAfter?: string; active?: boolean }) =>
    run(flags.server, async () => {
      const client = clientFrom(flags);
      let resumeAfter = flags.resumeAfter ?? "";
      let includeActive = flags.active ?? false;
      // Follow the feed for good: reconnect from the last cursor when the server asks to resume.
      for (;;) {
        let resume: string | undefined;
        try {
          for await (const message of client.watchAlerts({ clusterId: flags.cluster ?? "", resumeAfter, includeActive })) {
            const m = message.message;
            if (flags.json && m.case !== "heartbeat") process.stdout.write(`${JSON.stringify(toJson(WatchAlertsResponseSchema, message))}\n`);
            if (m.case === "event") {
              resumeAfter = m.value.cursor;
              if (!flags.json && m.value.alert) {
                process.stdout.write(`${AlertEventType[m.value.type].toLowerCase()}  ${alertRow(m.value.alert).join("  ")}  cursor=${m.value.cursor}\n`);
              }
            } else if (m.case === "activeAlert" && !flags.json) {
              process.stdout.write(`active     ${alertRow(m.value).join("  ")}\n`);
            } else if (m.case === "heartbeat") {
              if (m.value.cursor) resumeAfter = m.value.cursor;
            } else if (m.case === "resumeRequired") {
              resume = m.value.resumeAfter;
              process.stderr.write(`server asked to resume (${m.value.reason}); reconnecting\n`);
            }
          }
        } catch (error) {
          if (!(error instanceof ConnectError) || error.code !== Code.Unavailable) throw error;
          process.stderr.write("connection lost; reconnecting in 1 s\n");
          await new Promise((r) => setTimeout(r, 1_000));
          includeActive = false;
          continue;
        }
        if (resume === undefined) return;
        resumeAfter = resume;
        includeActive = false;
      }
    }),
  );
}

function alertRow(a: CostAlert): string[] {
  const currency = a.currentCost?.currencyCode ?? "";
  return [
    a.id,
    a.clusterId,
    a.budgetId,
    AlertKind[a.kind].toLowerCase(),
    `${a.thresholdPercent} %`,
    `${amountText(a.currentCost)} ${currency} (${a.percent.toFixed(2)} %)`,
    a.triggerTime ? timestampDate(a.triggerTime).toISOString() : "",
    a.acknowledged ? a.acknowledgedBy : "-",
  ];
}
