/** Flags the Sidekiq CLI commands share, validated into one-line ConfigErrors. */
import { ConfigError } from "../errors";
import { isValidNamespace, NAMESPACE_RULE, parseRedisUrl } from "./config";

/**
 * `--redis-url`, or Tines' own REDIS_URL from the environment when the flag is left out,
 * so an operator can keep the password out of the process list.
 */
export function redisUrlFlag(value: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const url = value ?? env.REDIS_URL;
  if (!url)
    throw new ConfigError("--redis-url is required (redis://[user:password@]host:6379/1), or set REDIS_URL");
  parseRedisUrl(url, value === undefined ? "REDIS_URL" : "--redis-url");
  return url;
}

export function namespaceFlag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!isValidNamespace(value)) throw new ConfigError(`--namespace ${NAMESPACE_RULE}, got "${value}"`);
  return value;
}
