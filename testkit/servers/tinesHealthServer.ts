/**
 * Behaves like tines-app's health endpoints for tests, on real dependencies: `/is_up`
 * answers 200 only when the PostgreSQL at DATABASE_URL answers `SELECT 1`, the Redis at
 * REDIS_URL answers PING, and at least one Sidekiq process has a live heartbeat in that Redis
 * (as `Sidekiq::ProcessSet` sees it); otherwise 500. `/health` always answers 200 with JSON
 * `{"healthy": ...}` and one field per dependency. With TINES_HEALTH_MODE=never it never
 * reports healthy. Run as a child process: `node --import tsx testkit/servers/tinesHealthServer.ts`.
 */
import http from "node:http";
import Redis from "ioredis";
import { Client } from "pg";

interface Dependencies {
  postgres: boolean;
  redis: boolean;
  sidekiq: boolean;
}

/** Sidekiq drops a process from its set once its heartbeat key has expired (60 s). */
const HEARTBEAT_MAX_AGE_SECONDS = 60;

async function postgresUp(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function redisAndSidekiq(url: string): Promise<{ redis: boolean; sidekiq: boolean }> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0 });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    const now = Date.now() / 1000;
    for (const identity of await redis.smembers("processes")) {
      const beat = Number(await redis.hget(identity, "beat"));
      if (beat > 0 && now - beat < HEARTBEAT_MAX_AGE_SECONDS) return { redis: true, sidekiq: true };
    }
    return { redis: true, sidekiq: false };
  } catch {
    return { redis: false, sidekiq: false };
  } finally {
    redis.disconnect();
  }
}

async function dependencies(): Promise<Dependencies> {
  const [postgres, rest] = await Promise.all([
    postgresUp(process.env.DATABASE_URL ?? ""),
    redisAndSidekiq(process.env.REDIS_URL ?? ""),
  ]);
  return { postgres, ...rest };
}

const never = process.env.TINES_HEALTH_MODE === "never";

const server = http.createServer((request, response) => {
  void (async () => {
    const deps = await dependencies();
    const healthy = !never && deps.postgres && deps.redis && deps.sidekiq;
    if (request.url === "/is_up") {
      response.writeHead(healthy ? 200 : 500, { "content-type": "text/plain" });
      response.end(healthy ? "ok" : "not ready");
    } else if (request.url === "/health") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ healthy, ...deps }));
    } else {
      response.writeHead(404);
      response.end();
    }
  })();
});

server.listen(Number(process.env.PORT), "127.0.0.1", () => process.stdout.write("listening\n"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
