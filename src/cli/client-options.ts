import type { Command } from "commander";
import { Code, ConnectError } from "@connectrpc/connect";
import { createCostClient, type CostClient } from "../client/index.js";

/** Options shared by every command that talks to a server. */
export interface ClientFlags {
  readonly server: string;
  readonly protocol: "grpc" | "connect";
  readonly apiKey?: string;
  readonly json?: boolean;
}

/** Adds --server, --protocol, --api-key and --json to a command. */
export function withClientOptions(command: Command): Command {
  return command
    .option("--server <url>", "Cost Core server URL (env COST_CORE_URL)", process.env.COST_CORE_URL ?? "http://127.0.0.1:8080")
    .option("--protocol <protocol>", "grpc or connect", "grpc")
    .option("--api-key <key>", "API key (env COST_CORE_API_KEY)", process.env.COST_CORE_API_KEY)
    .option("--json", "print JSON instead of a table");
}

/** A client for the server named by the flags. */
export function clientFrom(flags: ClientFlags): CostClient {
  if (flags.protocol !== "grpc" && flags.protocol !== "connect") throw new UsageError(`--protocol must be grpc or connect (got "${String(flags.protocol)}")`);
  return createCostClient({ baseUrl: flags.server, protocol: flags.protocol, apiKey: flags.apiKey });
}

/** A mistake in the command line, reported without a stack trace. */
export class UsageError extends Error {}

/** Prints an error so a person knows what to do next, and sets the exit code. */
export function reportError(error: unknown, server: string | undefined): void {
  if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n`);
    process.exitCode = 2;
    return;
  }
  if (error instanceof ConnectError) {
    const hint =
      error.code === Code.Unavailable
        ? `\nhint: is the server running at ${server ?? "the --server URL"}? Start one with: npm start`
        : error.code === Code.Unauthenticated
          ? "\nhint: pass an API key with --api-key or COST_CORE_API_KEY"
          : "";
    process.stderr.write(`error: ${Code[error.code]}: ${error.rawMessage}${hint}\n`);
    process.exitCode = 1;
    return;
  }
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
