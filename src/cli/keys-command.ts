import type { Command } from "commander";
import { generateKey } from "../api/auth/api-keys.js";
import { isScope, SCOPES, type Scope } from "../api/auth/scopes.js";
import { UsageError } from "./client-options.js";

/** Adds `keys create`: makes a key locally (no server involved) and prints it with its keys-file entry. */
export function addKeysCommands(program: Command, run: (server: string, work: () => Promise<void>) => Promise<void>): void {
  const keys = program.command("keys").description("API keys");
  keys
    .command("create")
    .description("create an API key: prints the key (give it to the client) and the entry to add to the keys file")
    .requiredOption("--id <id>", "key id, shown in audit events and acknowledgments")
    .requiredOption("--scopes <list>", `comma-separated: ${SCOPES.join(", ")}`)
    .option("--clusters <list>", "comma-separated clusters the key may touch; all when omitted")
    .action((flags: { id: string; scopes: string; clusters?: string }) =>
      run("", async () => {
        const scopes = flags.scopes.split(",").map((s) => s.trim()).filter(Boolean);
        const unknown = scopes.filter((s) => !isScope(s));
        if (unknown.length > 0 || scopes.length === 0) throw new UsageError(`--scopes must list some of ${SCOPES.join(", ")} (unknown: ${unknown.join(", ") || "none given"})`);
        const clusters = flags.clusters?.split(",").map((c) => c.trim()).filter(Boolean);
        const { key, entry } = generateKey(flags.id, scopes as Scope[], clusters);
        process.stdout.write(
          `API key (shown once; the server keeps only its hash):\n  ${key}\n\n` +
            `Add this entry to the "keys" list of the keys file (COST_CORE_KEYS_FILE) and restart the server:\n  ${JSON.stringify(entry)}\n`,
        );
      }),
    );
}
