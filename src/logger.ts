import { pino, type Logger } from "pino";

export type { Logger };

/** The service's structured JSON logger (pino), at a level such as "info" or "debug". */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, base: { service: "cost-core" } }, destination ?? process.stdout);
}

/** A logger that drops everything, for tests and embedding. */
export function createSilentLogger(): Logger {
  return pino({ level: "silent" });
}
