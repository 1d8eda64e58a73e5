/**
 * Connection URLs given on a command line are visible in the process list, so the CLI also
 * takes `env:NAME` (the URL is read from that environment variable) and warns otherwise.
 */
import { ConfigError } from "../errors";
import type { ProgressReporter } from "../progress";

export function resolveUrlFlag(
  value: string,
  flag: string,
  reporter: ProgressReporter,
  env = process.env,
): string {
  if (value.startsWith("env:")) {
    const name = value.slice(4);
    const url = env[name];
    if (!url)
      throw new ConfigError(`${flag}: environment variable ${name} is not set (from ${flag} env:${name})`);
    return url;
  }
  try {
    if (new URL(value).password) {
      reporter.warn(
        `${flag}: a password on the command line is visible in the process list; prefer ${flag} env:VARIABLE`,
      );
    }
  } catch {
    // parsePgUrl reports malformed URLs with the allowed form.
  }
  return value;
}
