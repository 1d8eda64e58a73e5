/**
 * `maint redis-carry` as an operator runs it (a child process), between a plain Redis reached
 * through an ACL user and a Redis that serves TLS only and needs a password, its certificate
 * from a private CA that Node is given the way an operator gives it (NODE_EXTRA_CA_CERTS).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Redis from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startRedis, TEST_REDIS_USER_PASSWORD, type RunningServer } from "../../testkit/servers/localServers";
import { startCli } from "../../testkit/cliChild";
import { redisState } from "../../testkit/redisState";
import { jobJson } from "../../testkit/sidekiqJobs";
import { makeTestCertificates, type TestCertificates } from "../../testkit/tlsCertificates";

const NEW_PASSWORD = "tls-side-secret-9";
const work = fs.mkdtempSync(path.join(os.tmpdir(), "redis-carry-cli-"));
const servers: RunningServer[] = [];
let certs: TestCertificates;
let oldUrl: string;
let newUrl: string;
let oldRedis: Redis;
let newRedis: Redis;
let tlsOptions: { tls: { ca: Buffer } };

beforeAll(async () => {
  certs = makeTestCertificates(work);
  const old = await startRedis();
  const neu = await startRedis({ password: NEW_PASSWORD, tls: certs });
  servers.push(old, neu);
  oldUrl = `redis://tines:${TEST_REDIS_USER_PASSWORD}@127.0.0.1:${new URL(old.url).port}/1`;
  newUrl = `${neu.url}/3`;
  expect(newUrl).toMatch(/^rediss:\/\//);
  tlsOptions = { tls: { ca: fs.readFileSync(certs.caFile) } };
  oldRedis = new Redis(oldUrl);
  newRedis = new Redis(newUrl, tlsOptions);
});

afterAll(async () => {
  oldRedis?.disconnect();
  newRedis?.disconnect();
  await Promise.all(servers.map((s) => s.stop()));
  fs.rmSync(work, { recursive: true, force: true });
});

beforeEach(async () => {
  await oldRedis.flushall();
  await newRedis.flushall();
});

async function seed(scheduled = 2): Promise<void> {
  const now = Date.now();
  for (let start = 0; start < scheduled; start += 10_000) {
    const members: Array<string | number> = [];
    for (let i = start; i < Math.min(scheduled, start + 10_000); i++)
      members.push(now / 1000 + 7200 + i, jobJson("default", now, "sidekiq7"));
    await oldRedis.zadd("schedule", ...members);
  }
  await oldRedis.zadd("retry", String(now / 1000 + 3600), jobJson("default", now, "sidekiq7"));
  await oldRedis.zadd("dead", String(now / 1000 - 60), jobJson("default", now, "sidekiq7"));
  await oldRedis.sadd("queues", "default");
}

const env = (extra: NodeJS.ProcessEnv = {}) => ({
  OLD_REDIS_URL: oldUrl,
  NEW_REDIS_URL: newUrl,
  NODE_EXTRA_CA_CERTS: certs.caFile,
  ...extra,
});

async function maint(args: string[], extra: NodeJS.ProcessEnv = {}) {
  const cli = startCli(["redis-carry", ...args], env(extra));
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout.join(""), stderr: cli.stderr.filter(Boolean).join("\n") };
}

const both = async () => ({ old: await redisState(oldUrl), new: await redisState(newUrl, tlsOptions) });
const FLAGS = ["--from", "env:OLD_REDIS_URL", "--to", "env:NEW_REDIS_URL"];

describe("maint redis-carry (child process, real redis-server, TLS on the new side)", () => {
  it("--check reads only; then the carry copies and verifies over TLS with a password", async () => {
    await seed();
    const before = await both();
    const check = await maint([...FLAGS, "--check"]);
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(
      /^2 scheduled for later \(next due in (1h59m|2h00m)\), 1 retry \(next attempt in (59m\d\ds|1h00m)\), 1 dead: nothing refuses the carry \(run without --check to carry them\)\n$/,
    );
    expect(await both()).toEqual(before);

    const run = await maint([...FLAGS, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({
      outcome: "carried",
      written: { scheduled: 2, retries: 1, dead: 1, queued: 0 },
      verified: { scheduled: 2, retries: 1, dead: 1, queued: 0 },
      method: "restore",
    });
    expect(report.summary).toMatch(/1 dead: carried to the new Redis$/);
    expect(run.stderr).toMatch(
      /^redis-carry: 4 key\(s\) to copy to the new Redis \(127\.0\.0\.1:\d+ db 3 \(TLS\)\)/,
    );
    for (const set of ["schedule", "retry", "dead"]) {
      expect(await newRedis.zrange(set, 0, -1, "WITHSCORES")).toEqual(
        await oldRedis.zrange(set, 0, -1, "WITHSCORES"),
      );
    }
    expect(await redisState(oldUrl)).toEqual(before.old);
    expect(run.stdout + run.stderr + check.stdout).not.toContain(NEW_PASSWORD);
    expect(run.stdout + run.stderr + check.stdout).not.toContain(TEST_REDIS_USER_PASSWORD);
  }, 60_000);

  it("refuses with one line, writing nothing: unverified TLS, entries already there, bad flags", async () => {
    await seed();
    await newRedis.zadd("dead", "1", jobJson("default", Date.now(), "sidekiq8"));
    const before = await both();
    const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
      [
        FLAGS,
        { NODE_EXTRA_CA_CERTS: "" },
        /^maint redis-carry: --to: the new Redis cannot be reached: Redis 127\.0\.0\.1:\d+ db 3 \(TLS\): .*(self[- ]signed|certificate).*; start it or correct --to, then run again; nothing was changed$/,
      ],
      [
        FLAGS,
        {},
        /^maint redis-carry: --to: the new Redis \(127\.0\.0\.1:\d+ db 3 \(TLS\)\) already holds 1 entry the old Redis does not hold, e\.g\. jid [0-9a-f]+ \(HardWorker\), under `dead`; empty `dead` there, or point --to at a Redis without Sidekiq data, then run again; nothing was changed$/,
      ],
      [
        ["--from", "env:OLD_REDIS_URL"],
        {},
        /^maint redis-carry: --to is required \(redis:\/\/\[user:password@\]host:6379\/1\), as --to env:VARIABLE$/,
      ],
      [
        ["--from", "env:OLD_REDIS_URL", "--to", "http://x"],
        {},
        /^maint redis-carry: --to must be a redis:\/\/ or rediss:\/\/ URL, got scheme "http"$/,
      ],
      [[...FLAGS, "--namespace", ":x"], {}, /^maint redis-carry: --namespace must be a non-empty prefix/],
    ];
    for (const [args, extra, expected] of cases) {
      const run = await maint([...args, "--check"], extra);
      expect(run.code, args.join(" ")).toBe(1);
      expect(run.stderr).toMatch(expected);
      expect(run.stderr.split("\n")).toHaveLength(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).not.toContain(NEW_PASSWORD);
    }
    const carry = await maint(FLAGS);
    expect(carry.code).toBe(1);
    expect(carry.stderr).toMatch(/already holds 1 entry the old Redis does not hold/);
    expect(await both()).toEqual(before);
  }, 120_000);

  it("ends promptly on Ctrl-C; each key on the new Redis is whole or absent, and a rerun completes it", async () => {
    await seed(150_000);
    const cli = startCli(["redis-carry", ...FLAGS], env());
    await cli.waitFor(/^redis-carry: \d+ key\(s\) to copy/);
    const signalled = Date.now();
    cli.child.kill("SIGINT");
    const { code } = await cli.exited;
    const took = Date.now() - signalled;
    expect(took).toBeLessThan(3_000);
    if (code === 0) {
      // It finished before the signal arrived: then everything is there and verified.
      expect(cli.stdout.join("")).toMatch(/verified on both sides/);
    } else {
      expect(cli.stderr.filter(Boolean).at(-1)).toMatch(
        /^maint redis-carry: redis-carry: aborted during the (copy|verification); every key is either carried whole or not at all/,
      );
    }
    for (const set of ["schedule", "retry", "dead"]) {
      const n = await newRedis.zcard(set);
      if (n > 0) expect(n).toBe(await oldRedis.zcard(set));
    }
    const rerun = await maint([...FLAGS, "--json"]);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(JSON.parse(rerun.stdout).verified).toEqual({ scheduled: 150_000, retries: 1, dead: 1, queued: 0 });
  }, 120_000);
});
