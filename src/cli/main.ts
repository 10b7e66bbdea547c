import { Command, Option } from "commander";
import { SETTINGS, type RawSettings } from "../config.js";
import { addAlertCommands } from "./alert-commands.js";
import { addBridgeCommands } from "./bridge-command.js";
import { addBudgetCommands } from "./budget-commands.js";
import { addExportCommand } from "./export-command.js";
import { addImportCommand } from "./import-command.js";
import { addKeysCommands } from "./keys-command.js";
import { addVerifyCommand } from "./verify-command.js";
import { addReportCommands } from "./report-commands.js";
import { addAuditCommand } from "./audit-command.js";
import { reportError, withClientOptions, type ClientFlags } from "./client-options.js";
import { recordCommand, type RecordFlags } from "./record-command.js";
import { serve } from "./serve-command.js";
import { summaryCommand } from "./summary-command.js";

/** Builds the `cost-core` command line. */
export function createProgram(): Command {
  const program = new Command("cost-core")
    .description("Cost Core: track what API calls cost, keep budgets and raise alerts")
    .showHelpAfterError();

  program
    .command("serve")
    .description("run the server (gRPC, gRPC-Web and Connect on one port)")
    .option("--host <host>", `${SETTINGS.HOST.help} (env COST_CORE_HOST, default ${SETTINGS.HOST.default})`)
    .option("--port <port>", `${SETTINGS.PORT.help} (env COST_CORE_PORT, default ${SETTINGS.PORT.default})`)
    .addOption(new Option("--store <kind>", `${SETTINGS.STORE.help} (env COST_CORE_STORE)`).choices(["sqlite", "mongodb"]))
    .option("--db <path>", `${SETTINGS.SQLITE_PATH.help} (env COST_CORE_SQLITE_PATH, default ${SETTINGS.SQLITE_PATH.default})`)
    .option("--mongodb-uri <uri>", `${SETTINGS.MONGODB_URI.help} (env COST_CORE_MONGODB_URI)`)
    .option("--mongodb-database <name>", `${SETTINGS.MONGODB_DATABASE.help} (env COST_CORE_MONGODB_DATABASE, default ${SETTINGS.MONGODB_DATABASE.default})`)
    .option("--log-level <level>", `${SETTINGS.LOG_LEVEL.help} (env COST_CORE_LOG_LEVEL)`)
    .option("--keys-file <path>", `${SETTINGS.KEYS_FILE.help} (env COST_CORE_KEYS_FILE)`)
    .option("--insecure", SETTINGS.INSECURE.help)
    .action(async (opts: { host?: string; port?: string; store?: string; db?: string; mongodbUri?: string; mongodbDatabase?: string; logLevel?: string; keysFile?: string; insecure?: boolean }) => {
      const flags: RawSettings = {
        HOST: opts.host,
        PORT: opts.port,
        STORE: opts.store,
        SQLITE_PATH: opts.db,
        MONGODB_URI: opts.mongodbUri,
        MONGODB_DATABASE: opts.mongodbDatabase,
        LOG_LEVEL: opts.logLevel,
        KEYS_FILE: opts.keysFile,
        INSECURE: opts.insecure ? "true" : undefined,
      };
      await serve(flags);
    });

  withClientOptions(
    program
      .command("record")
      .description("record one cost")
      .requiredOption("--cluster <id>", "cluster the cost belongs to")
      .requiredOption("--provider <name>", "provider, e.g. openai")
      .requiredOption("--operation <name>", "operation, e.g. chat-completion")
      .requiredOption("--cost <amount>", "decimal amount, e.g. 0.002")
      .option("--currency <code>", "ISO 4217 currency", "USD")
      .option("--model <name>", "model, e.g. gpt-4")
      .option("--id <id>", "record id (idempotency key); a new UUID by default")
      .option("--trace-id <id>", "trace id")
      .option("--timestamp <time>", "when the cost was incurred (ISO 8601 or epoch ms); now by default")
      .option("--metadata <json>", "metadata as a JSON object"),
  ).action(async (flags: RecordFlags) => run(flags.server, () => recordCommand(flags)));

  withClientOptions(program.command("summary").description("spend per cluster over 24 h / 7 d / 30 d / all time").argument("[cluster]", "one cluster; all when omitted")).action(
    async (cluster: string | undefined, flags: ClientFlags) => run(flags.server, () => summaryCommand(cluster, flags)),
  );

  addBudgetCommands(program, run);
  addAlertCommands(program, run);
  addBridgeCommands(program, run);
  addImportCommand(program, run);
  addExportCommand(program, run);
  addKeysCommands(program, run);
  addVerifyCommand(program, run);
  addReportCommands(program, run);
  addAuditCommand(program, run);
  return program;
}

async function run(server: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    reportError(error, server);
  }
}

await createProgram().parseAsync(process.argv);
