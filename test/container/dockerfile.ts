import path from "node:path";

/** One Dockerfile instruction, continuation lines joined. */
export interface Instruction {
  /** Upper case, e.g. "COPY". */
  readonly keyword: string;
  /** Everything after the keyword. */
  readonly args: string;
  /** Line the instruction starts on, from 1. */
  readonly line: number;
}

/** A build stage: FROM and what follows it. */
export interface Stage {
  readonly base: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

/** The instructions of a Dockerfile: comments and blank lines dropped, "\" continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    // Comment lines may sit inside a continued instruction; Docker drops them.
    if (trimmed.startsWith("#") || (trimmed === "" && pending === undefined)) return;
    const continued = trimmed.endsWith("\\");
    const part = continued ? trimmed.slice(0, -1).trim() : trimmed;
    pending = pending ? { text: `${pending.text} ${part}`, line: pending.line } : { text: part, line: index + 1 };
    if (continued) return;
    const match = /^(\S+)\s*([\s\S]*)$/.exec(pending.text);
    if (match) instructions.push({ keyword: (match[1] ?? "").toUpperCase(), args: (match[2] ?? "").trim(), line: pending.line });
    pending = undefined;
  });
  return instructions;
}

/** The build stages, in order. */
export function stagesOf(instructions: readonly Instruction[]): Stage[] {
  const stages: { base: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") {
      const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith("--"));
      const as = words.findIndex((w) => w.toUpperCase() === "AS");
      stages.push({ base: words[0] ?? "", name: as === -1 ? undefined : words[as + 1], instructions: [] });
    } else stages[stages.length - 1]?.instructions.push(instruction);
  }
  return stages;
}

/** The arguments of an exec-form (JSON array) or shell-form instruction. */
export function argumentsOf(args: string): string[] {
  if (args.startsWith("[")) return JSON.parse(args) as string[];
  return args.split(/\s+/).filter(Boolean);
}

/** Flags (--name=value) and the remaining arguments of COPY, ADD, HEALTHCHECK and the like. */
export function flagsOf(args: string): { flags: Map<string, string>; rest: string } {
  const flags = new Map<string, string>();
  let rest = args;
  for (let match = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest); match; match = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest)) {
    flags.set(match[1] ?? "", match[2] ?? "");
    rest = rest.slice(match[0].length);
  }
  return { flags, rest };
}

/** A COPY: sources, destination and the stage it copies from (undefined: the build context). */
export interface Copy {
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly destination: string;
  readonly line: number;
}

/** The COPY instructions of a stage. */
export function copiesOf(stage: Stage): Copy[] {
  return stage.instructions
    .filter((i) => i.keyword === "COPY")
    .map((i) => {
      const { flags, rest } = flagsOf(i.args);
      const words = argumentsOf(rest);
      return { from: flags.get("from"), sources: words.slice(0, -1), destination: words[words.length - 1] ?? "", line: i.line };
    });
}

/** The environment a stage sets with ENV (key=value pairs, quotes removed; or the old "ENV key value"). */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const instruction of stage.instructions.filter((i) => i.keyword === "ENV")) {
    if (!instruction.args.includes("=")) {
      const [key = "", ...value] = instruction.args.split(/\s+/);
      env[key] = value.join(" ");
      continue;
    }
    for (const match of instruction.args.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
      const value = match[2] ?? "";
      env[match[1] ?? ""] = /^["']/.test(value) ? value.slice(1, -1) : value;
    }
  }
  return env;
}

/** Where a path in the image lands, resolved against the WORKDIR in force at `line`. */
export function workdirAt(stage: Stage, line: number): string {
  let workdir = "/";
  for (const instruction of stage.instructions) {
    if (instruction.line > line) break;
    if (instruction.keyword === "WORKDIR") workdir = path.posix.resolve(workdir, instruction.args);
  }
  return workdir;
}

/** One .dockerignore rule. */
interface IgnoreRule {
  readonly pattern: RegExp;
  /** A "!" rule lets back in what an earlier rule left out. */
  readonly exception: boolean;
}

/** The rules of a .dockerignore file. */
export function parseDockerignore(text: string): IgnoreRule[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const exception = line.startsWith("!");
      const body = path.posix.normalize((exception ? line.slice(1) : line).replace(/^\/+/, "")).replace(/\/+$/, "");
      return { pattern: globToRegExp(body), exception };
    });
}

/**
 * Whether the build context leaves out a path (relative to the context root), as
 * Docker decides: a path is out when it or a folder above it matches a rule, and
 * the last rule that matches wins. Patterns match from the root ("*.db" only at the
 * top; "**" for any depth).
 */
export function isIgnored(relativePath: string, rules: readonly IgnoreRule[]): boolean {
  const parts = path.posix.normalize(relativePath).split("/");
  let ignored = false;
  for (let depth = 1; depth <= parts.length; depth++) {
    const prefix = parts.slice(0, depth).join("/");
    for (const rule of rules) if (rule.pattern.test(prefix)) ignored = !rule.exception;
  }
  return ignored;
}

function globToRegExp(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? "";
    if (c === "*" && glob[i + 1] === "*") {
      source += ".*";
      i++;
      if (glob[i + 1] === "/") i++;
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}
