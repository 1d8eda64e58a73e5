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
