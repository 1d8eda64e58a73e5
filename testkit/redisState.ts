/**
 * Test helper: everything a Redis database holds, as far as "left exactly as it was" goes:
 * every key with its type, TTL and DUMP payload (the whole value, byte for byte). Two equal
 * states mean no key was added, removed, changed or given a TTL.
 */
import Redis, { type RedisOptions } from "ioredis";

export type RedisState = Record<string, { type: string; pttl: number; dump: string }>;

/** `options` adds to the URL's, e.g. `{ tls: { ca } }` for a server with a private CA. */
export async function redisState(url: string, options: RedisOptions = {}): Promise<RedisState> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, ...options });
  try {
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await redis.scan(cursor, "COUNT", 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
    const state: RedisState = {};
    for (const key of keys.sort()) {
      const [type, pttl, dump] = await Promise.all([redis.type(key), redis.pttl(key), redis.dumpBuffer(key)]);
      state[key] = { type, pttl: pttl > 0 ? 1 : pttl, dump: dump?.toString("base64") ?? "" };
    }
    return state;
  } finally {
    redis.disconnect();
  }
}
