import type { RedisOptions } from "ioredis";

/**
 * ioredis options for a client whose every call ends within `timeoutMs`: no reconnects, no
 * retries and no offline queue, so that an unreachable or silent Redis fails a gate promptly
 * instead of holding it.
 */
export function boundedRedisOptions(timeoutMs: number): RedisOptions {
  return {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  };
}
