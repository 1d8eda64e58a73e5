/**
 * What an operator reads under the real Pulumi CLI with the policy pack (ECS on moto) when a
 * server is unreachable, a credential is not a secret, or a write target is broken (issue 20,
 * items 6, 7, 8):
 *  - the engine masks every occurrence of a secret config value, so an error that quoted a
 *    password-less URL said `[secret]` where the host belonged; servers are now named by
 *    address (`Redis 127.0.0.1:P db 0`, `PostgreSQL 127.0.0.1:P database tines`,
 *    `127.0.0.1:P/is_up`), and NOAUTH says that the URL has no password;
 *  - a URL with a password set without `--secret` is refused, naming the key;
 *  - a backup directory or endpoint target the shutdown could not write is refused before the
 *    first service stops, naming the key;
 *  - and no run prints the AWS SDK's NodeVersionSupportWarning (item 9).
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import Redis from "ioredis";
import { describe, expect, it } from "vitest";
import { freePort, startMoto, startRedis } from "../testkit/servers";
import { ecsE2e, logRun } from "./ecsStack";
import { ecsDesiredCounts } from "../testkit/motoEcs";
import type { CliResult } from "../testkit/pulumiCli";

const COUNTS = { "tines-app": 2, "tines-sidekiq": 2 };
const SERVICES = Object.keys(COUNTS);

/** A line of a JavaScript stack trace, as Node prints them. */
const STACK_FRAME = /^\s+at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/m;

function readable(step: string, result: CliResult): string {
  const output = logRun(step, result);
  expect(output, output).not.toMatch(STACK_FRAME);
  expect(output, output).not.toContain("[object Object]");
  expect(output, output).not.toContain("prototype");
  expect(output, output).not.toContain("NodeVersionSupportWarning");
  return output;
}

describe("operator messages for unreachable servers, plain credentials and broken write targets (real Pulumi CLI)", () => {
  const env = ecsE2e(async ({ start, tempDir, ecsStack }) => {
    const [moto, locked] = await start(startMoto(), startRedis());
    // A Redis whose default user needs a password.
    const admin = new Redis(locked.url);
    await admin.config("SET", "requirepass", "needed-pw-123");
    admin.disconnect();
    const closedPort = await freePort();
    const dir = tempDir("tines-maint-e2e-messages-");
    const { stack, ecs } = await ecsStack({
      stack: "e2e-operator-messages",
      moto,
      counts: COUNTS,
      config: { "sidekiq.preflight": "refuse", "sidekiq.preflightSeconds": 2, "sidekiq.intervalSeconds": 1 },
    });
    return { moto, locked, closedPort, dir, stack, ecs };
  });

  it("a Redis URL with a password set without --secret is refused, naming the key (item 7)", async () => {
    await env.stack.setConfig({ "sidekiq.redisUrl": `redis://:plain-pw-456@127.0.0.1:${env.closedPort}/0` });
    const result = await env.stack.preview();
    const output = readable("preview (plain redisUrl)", result);
    expect(result.code, output).not.toBe(0);
    expect(output).toContain(
      "tines-maintenance:sidekiq.redisUrl: holds a password but is not a secret; set it with `pulumi config set --secret --path sidekiq.redisUrl ...`",
    );
    expect(output).not.toContain("plain-pw-456");
  });

  it("a Redis that is down is named by address, not [secret]; nothing stops (item 6)", async () => {
    await env.stack.setSecret("sidekiq.redisUrl", `redis://127.0.0.1:${env.closedPort}/0`);
    const result = await env.stack.up("e2e: Redis down");
    const output = readable("up (Redis down)", result);
    expect(result.code, output).not.toBe(0);
    expect(output).toContain(`Redis 127.0.0.1:${env.closedPort} db 0: connection refused`);
    expect(output).not.toContain("[secret]");
    expect(await ecsDesiredCounts(env.ecs, SERVICES)).toEqual(COUNTS);
  });

  it("a Redis that needs a password the URL lacks says so (item 6)", async () => {
    const port = new URL(env.locked.url).port;
    await env.stack.setSecret("sidekiq.redisUrl", `redis://127.0.0.1:${port}/0`);
    const result = await env.stack.up("e2e: Redis NOAUTH");
    const output = readable("up (NOAUTH)", result);
    expect(result.code, output).not.toBe(0);
    expect(output).toContain(
      `Redis 127.0.0.1:${port} db 0: this Redis requires a password; the URL has none`,
    );
    expect(await ecsDesiredCounts(env.ecs, SERVICES)).toEqual(COUNTS);
  });

  it("a backup directory under a regular file is refused before the first stop, naming the key (item 8)", async () => {
    const file = path.join(env.dir, "a-file");
    writeFileSync(file, "x");
    // From here on without Sidekiq: no pre-flight, no drain.
    await env.stack.removeConfig("sidekiq");
    await env.stack.removeConfig("services.tines-sidekiq");
    await env.stack.setConfig({ "database.backup.directory": path.join(file, "dumps") });
    await env.stack.setSecret("database.url", `postgresql://tines@127.0.0.1:${env.closedPort}/tines`);
    const result = await env.stack.up("e2e: backup directory under a file");
    const output = readable("up (backup directory under a file)", result);
    expect(result.code, output).not.toBe(0);
    expect(output).toContain(
      `maintenance-window: refused, nothing was changed: tines-maintenance:database.backup.directory: the backup cannot be written to ${file}/dumps: ${file} is not a directory`,
    );
    expect(await ecsDesiredCounts(env.ecs, SERVICES)).toEqual(COUNTS);
  });

  it("an endpoint target that cannot be read is refused before the first stop, naming the key (item 8)", async () => {
    await env.stack.setConfig({
      "database.backup.directory": env.dir,
      "endpoints.databaseHost": "new-db.internal.example",
      "endpoints.target.kind": "s3-env-file",
      "endpoints.target.bucket": "no-such-bucket-e2e",
      "endpoints.target.key": "tines/.env",
      "endpoints.target.endpoint": env.moto.url,
    });
    const result = await env.stack.up("e2e: endpoint target missing");
    const output = readable("up (endpoint target missing)", result);
    expect(result.code, output).not.toBe(0);
    expect(output).toMatch(
      /maintenance-window: refused, nothing was changed: tines-maintenance:endpoints\.target: the endpoint switch rewrites s3:\/\/no-such-bucket-e2e\/tines\/\.env, but reading it failed \(NoSuchBucket/,
    );
    expect(await ecsDesiredCounts(env.ecs, SERVICES)).toEqual(COUNTS);
    await env.stack.removeConfig("endpoints");
  });

  it("a database that is down is named by address, not [secret] (item 6)", async () => {
    const result = await env.stack.up("e2e: database down");
    const output = readable("up (database down)", result);
    expect(result.code, output).not.toBe(0);
    expect(output).toContain(
      `cannot connect to the database PostgreSQL 127.0.0.1:${env.closedPort} database tines: connect ECONNREFUSED`,
    );
    expect(output).not.toContain("[secret]");
  });

  it("a Tines that never answers healthy is named by host:port/path, not [secret] (item 6)", async () => {
    await env.stack.removeConfig("database");
    await env.stack.setConfig({ phase: "running", "health.timeoutSeconds": 10, "health.intervalSeconds": 1 });
    await env.stack.setSecret("health.url", `http://127.0.0.1:${env.closedPort}/is_up`);
    const result = await env.stack.up("e2e: Tines not healthy");
    const output = readable("up (health)", result);
    expect(result.code, output).not.toBe(0);
    expect(output).toContain(
      `tines-health: Tines did not report healthy at 127.0.0.1:${env.closedPort}/is_up within 10s`,
    );
    expect(output).not.toContain("[secret]");
  });
});
