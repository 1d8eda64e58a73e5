/**
 * One rule for every URL flag (`--url`, `--from`, `--to`, `--redis-url`), because a URL on a
 * command line is visible in the process list to every user of the machine:
 *  - `--flag env:NAME` reads the URL from the environment variable NAME;
 *  - `--flag URL` works too, with a warning when the URL holds a password;
 *  - a flag with a variable of its own may be left out: `--redis-url` reads `$REDIS_URL`, the
 *    variable Tines itself reads.
 */
import { ConfigError } from "../lib/errors";
import type { ProgressReporter } from "../lib/progress";
import { parseRedisUrl } from "../lib/sidekiq/config";

export interface UrlFlagOptions {
  /** Warnings go here (the CLI passes stderrReporter). */
  reporter: ProgressReporter;
  /** Read when the flag is left out. */
  fallbackVariable?: string;
  /** The form to show when the flag is missing, e.g. `redis://[user:password@]host:6379/1`. */
  example?: string;
  env?: NodeJS.ProcessEnv;
}

/** The URL and where it came from (`--flag`, or the variable), for messages that name it. */
export interface UrlFromFlag {
  url: string;
  source: string;
}

export function urlFlag(value: string | undefined, flag: string, options: UrlFlagOptions): UrlFromFlag {
  const env = options.env ?? process.env;
  if (value === undefined) {
    const fallback = options.fallbackVariable;
    const url = fallback ? env[fallback] : undefined;
    if (fallback && url) return { url, source: fallback };
    const example = options.example ? ` (${options.example})` : "";
    throw new ConfigError(
      `${flag} is required${example}, as ${flag} env:VARIABLE${fallback ? `, or set ${fallback}` : ""}`,
    );
  }
  if (value.startsWith("env:")) {
    const name = value.slice(4);
    const url = env[name];
    if (!url)
      throw new ConfigError(`${flag}: environment variable ${name} is not set (from ${flag} env:${name})`);
    return { url, source: flag };
  }
  try {
    if (new URL(value).password) {
      options.reporter.warn(
        `${flag}: a password on the command line is visible in the process list; prefer ${flag} env:VARIABLE`,
      );
    }
  } catch {
    // The caller's parser reports a malformed URL with the allowed form.
  }
  return { url: value, source: flag };
}

/** `--redis-url` (or `$REDIS_URL`), checked as Sidekiq reads it. */
export function redisUrlFlag(
  value: string | undefined,
  reporter: ProgressReporter,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const { url, source } = urlFlag(value, "--redis-url", {
    reporter,
    env,
    fallbackVariable: "REDIS_URL",
    example: "redis://[user:password@]host:6379/1",
  });
  parseRedisUrl(url, source);
  return url;
}
