/** Stack config values the e2e tests share, whatever the platform. */
import { TEST_REDIS_USER_PASSWORD, type RunningServer } from "../testkit/servers/localServers";

export type ConfigValues = Record<string, string | number | boolean>;

/**
 * The drain gate as the tests run it: a sample every second, a 3 s window, 2 s of settle, so
 * a drain takes seconds, not the production minutes. `timeoutSeconds` must stay at least 14,
 * the least the validation accepts for these settings.
 */
export function quickDrainConfig(timeoutSeconds: number): ConfigValues {
  return {
    "sidekiq.intervalSeconds": 1,
    "sidekiq.windowSeconds": 3,
    "sidekiq.settleSeconds": 2,
    "sidekiq.timeoutSeconds": timeoutSeconds,
  };
}

/** The Tines user's URL of the test Redis server, password included (set it as a secret). */
export function tinesRedisUrl(redis: RunningServer, db = 0): string {
  return `redis://tines:${TEST_REDIS_USER_PASSWORD}@127.0.0.1:${new URL(redis.url).port}/${db}`;
}
