/** Stack config values the e2e tests share, whatever the platform. */
import { TEST_REDIS_USER_PASSWORD, type RunningServer } from "../testkit/servers/localServers";

export type ConfigValues = Record<string, string | number | boolean>;

/**
 * The drain gate as the tests run it, at the least its validation accepts that still judges
 * something: a sample every second (the least interval), and the window and the settle time
 * one interval each, so "not increasing" and "stayed quiet" still compare two samples (a settle
 * of 0 would pass on one). The gate raises the settle time to cover a live Sidekiq's heartbeat.
 * A drain takes seconds, not the production minutes. `timeoutSeconds` must stay at least 14,
 * the least the validation accepts for these settings (a 10 s heartbeat + 2 s, two intervals).
 */
export function quickDrainConfig(timeoutSeconds: number): ConfigValues {
  return {
    "sidekiq.intervalSeconds": 1,
    "sidekiq.windowSeconds": 1,
    "sidekiq.settleSeconds": 1,
    "sidekiq.timeoutSeconds": timeoutSeconds,
  };
}

/** The Tines user's URL of the test Redis server, password included (set it as a secret). */
export function tinesRedisUrl(redis: RunningServer, db = 0): string {
  return `redis://tines:${TEST_REDIS_USER_PASSWORD}@127.0.0.1:${new URL(redis.url).port}/${db}`;
}
