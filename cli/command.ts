import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError } from "../lib/errors";
import { isValidNamespace, NAMESPACE_RULE } from "../lib/sidekiq/config";

export interface CliCommand {
  name: string;
  /** One line, e.g. `queue --redis-url URL [--json]`. */
  usage: string;
  /** Resolves to the process exit code. Throw MaintenanceError for a one-line refusal. */
  run(args: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * A command whose arguments are flags only: `run` gets them parsed by parseFlags, so that
 * every command refuses an unknown or malformed flag with the same line.
 */
export function flagCommand<T extends Options>(command: {
  name: string;
  usage: string;
  options: T;
  run(flags: ReturnType<typeof parseFlags<T>>): Promise<number>;
}): CliCommand {
  return {
    name: command.name,
    usage: command.usage,
    run: (args) => command.run(parseFlags(args, command.options, command.usage)),
  };
}

/** Flags that take a value (`--name VALUE`), declared by name. */
export function valueFlags<K extends string>(...names: K[]): Record<K, { type: "string" }> {
  return Object.fromEntries(names.map((name) => [name, { type: "string" }])) as Record<K, { type: "string" }>;
}

/** Flags that are switches (`--name`, no value), declared by name. */
export function switchFlags<K extends string>(...names: K[]): Record<K, { type: "boolean" }> {
  return Object.fromEntries(names.map((name) => [name, { type: "boolean" }])) as Record<
    K,
    { type: "boolean" }
  >;
}

/** Strict flag parsing: an unknown or malformed flag is a ConfigError naming it and the usage. */
export function parseFlags<T extends Options>(args: string[], options: T, usage: string) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new ConfigError(`${(error as Error).message.split("\n")[0]}; usage: ${usage}`);
  }
}

/** A required numeric flag: a finite number >= min, else ConfigError naming the flag. */
export function numberFlag(
  value: string | undefined,
  flag: string,
  opts: { min?: number; integer?: boolean } = {},
): number {
  if (value === undefined) throw new ConfigError(`--${flag} is required`);
  const n = Number(value);
  const min = opts.min ?? 0;
  if (value.trim() === "" || !Number.isFinite(n) || n < min || (opts.integer && !Number.isInteger(n))) {
    throw new ConfigError(
      `--${flag} must be ${opts.integer ? "an integer" : "a number"} >= ${min}, got "${value}"`,
    );
  }
  return n;
}

/** An optional numeric flag: undefined when left out, else as numberFlag checks it. */
export function optionalNumberFlag(
  value: string | undefined,
  flag: string,
  opts: { min?: number; integer?: boolean } = {},
): number | undefined {
  return value === undefined ? undefined : numberFlag(value, flag, opts);
}

export function requiredFlag(value: string | undefined, flag: string): string {
  if (!value) throw new ConfigError(`--${flag} is required`);
  return value;
}

/** `--namespace`: the redis-namespace prefix Sidekiq's keys carry, if any. */
export function namespaceFlag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!isValidNamespace(value)) throw new ConfigError(`--namespace ${NAMESPACE_RULE}, got "${value}"`);
  return value;
}

/**
 * Runs `work` with a signal that SIGINT or SIGTERM aborts, so that a Ctrl-C ends a wait
 * promptly through the work's own clean-up rather than killing it half-way.
 */
export async function withInterruptSignal<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  process.once("SIGINT", abort);
  process.once("SIGTERM", abort);
  try {
    return await work(controller.signal);
  } finally {
    process.removeListener("SIGINT", abort);
    process.removeListener("SIGTERM", abort);
  }
}
