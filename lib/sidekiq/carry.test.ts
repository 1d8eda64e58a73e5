/**
 * The carry against two real redis-server processes: the old one reached through an ACL user
 * and password (`redis://tines:…@`), the new one through `requirepass` (`redis://:…@`). Every
 * refusal is checked to leave both servers byte for byte as they were (DUMP of every key).
 */
import net from "node:net";
import Redis from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  freePort,
  startRedis,
  TEST_REDIS_USER_PASSWORD,
  type RunningServer,
} from "../../testkit/servers/localServers";
import { redisState } from "../../testkit/redisState";
import { heartbeat, jobJson, urlWithDb } from "../../testkit/sidekiqJobs";
import { isMaintenanceError } from "../errors";
import { silentReporter, type ProgressReporter } from "../progress";
import { carrySidekiqJobs, digestKey, precheckCarry, sameDump, scoreValue } from "./carry";
import { checkCarryInputs, runCarryGate, runCarryPrecheck, type CarryGateInputs } from "./carryGate";

const NEW_PASSWORD = "new-redis-secret-42";
const servers: RunningServer[] = [];
let oldUrl: string;
let newUrl: string;
let oldRedis: Redis;
let newRedis: Redis;

beforeAll(async () => {
  const old = await startRedis();
  const neu = await startRedis({ password: NEW_PASSWORD });
  servers.push(old, neu);
  const port = new URL(old.url).port;
  oldUrl = `redis://tines:${TEST_REDIS_USER_PASSWORD}@127.0.0.1:${port}/2`;
  newUrl = urlWithDb(neu.url, 5);
  oldRedis = new Redis(oldUrl);
  newRedis = new Redis(newUrl);
});

afterAll(async () => {
  oldRedis?.disconnect();
  newRedis?.disconnect();
  await Promise.all(servers.map((s) => s.stop()));
});

beforeEach(async () => {
  await oldRedis.flushall();
  await newRedis.flushall();
});

function recorder(): ProgressReporter & { lines: string[]; warnings: string[] } {
  const lines: string[] = [];
  const warnings: string[] = [];
  return { lines, warnings, info: (m) => lines.push(m), warn: (m) => warnings.push(m) };
}

const NOW = Date.now();
/** Scores as Sidekiq writes them (float epoch seconds), some with every digit a double keeps. */
const SCORES = [NOW / 1000 + 7200, NOW / 1000 + 86_400.123456789, 1_700_000_000.1234567, NOW / 1000 - 60];

/** Two scheduled jobs (2 h and 24 h ahead), one retry, one dead, two queues: the issue's window. */
async function seedWindow(redis: Redis, ns?: string): Promise<{ jobs: Record<string, string[]> }> {
  const k = (key: string) => (ns ? `${ns}:${key}` : key);
  const scheduled = [jobJson("default", NOW, "sidekiq7"), jobJson("default", NOW, "sidekiq7")];
  const retry = jobJson("default", NOW, "sidekiq7");
  const dead = jobJson("mailers", NOW, "sidekiq7");
  const queued = [
    jobJson("default", NOW, "sidekiq7"),
    jobJson("default", NOW, "sidekiq7"),
    jobJson("default", NOW, "sidekiq7"),
  ];
  await redis
    .multi()
    .zadd(k("schedule"), String(SCORES[0]), scheduled[0], String(SCORES[1]), scheduled[1])
    .zadd(k("retry"), String(SCORES[2]), retry)
    .zadd(k("dead"), String(SCORES[3]), dead)
    .lpush(k("queue:default"), ...queued)
    .lpush(k("queue:mailers"), jobJson("mailers", NOW, "sidekiq8"))
    .sadd(k("queues"), "default", "mailers", "low")
    .set(k("stat:processed"), "77")
    .exec();
  return { jobs: { scheduled, retry: [retry], dead: [dead], queued } };
}

const inputs = (over: Partial<CarryGateInputs> = {}): CarryGateInputs => ({
  fromUrl: oldUrl,
  toUrl: newUrl,
  namespace: "",
  mode: "carry",
  trigger: "run-1",
  ...over,
});

async function bothStates() {
  return { old: await redisState(oldUrl), new: await redisState(newUrl) };
}

async function expectSameContent(key: string, type: "zset" | "list" | "set") {
  const [a, b] = await Promise.all([digestKey(oldRedis, key, type), digestKey(newRedis, key, type)]);
  expect(b, key).toEqual(a);
}

describe("carrySidekiqJobs", () => {
  for (const restore of [true, false]) {
    it(`carries every kind of entry, scores exact and lists in order (${restore ? "DUMP/RESTORE" : "entry by entry"})`, async () => {
      await seedWindow(oldRedis);
      const before = await redisState(oldUrl);
      const progress = recorder();
      const result = await carrySidekiqJobs(
        { fromUrl: oldUrl, toUrl: newUrl },
        { reporter: progress, restore },
      );

      expect(result.outcome).toBe("carried");
      expect(result.survey.watched).toBe(true);
      expect(result.method).toBe(restore ? "restore" : "elements");
      expect(result.written).toEqual({ scheduled: 2, retries: 1, dead: 1, queued: 4 });
      expect(result.verified).toEqual({ scheduled: 2, retries: 1, dead: 1, queued: 4 });
      expect(result.survey.queues).toEqual([
        { name: "default", size: 3 },
        { name: "mailers", size: 1 },
      ]);
      expect(result.survey.held).toMatchObject({ queued: 4, scheduled: 2, retries: 1, dead: 1 });
      expect(result.survey.held.nextScheduledAt).toBe(Math.round(SCORES[0] * 1000));
      // The old Redis is left exactly as it was.
      expect(await redisState(oldUrl)).toEqual(before);
      // The new Redis holds the same members with the same scores, and the lists in order.
      for (const set of ["schedule", "retry", "dead"]) {
        expect(await newRedis.zrange(set, 0, -1, "WITHSCORES")).toEqual(
          await oldRedis.zrange(set, 0, -1, "WITHSCORES"),
        );
        await expectSameContent(set, "zset");
      }
      const scores = await newRedis.zrange("schedule", 0, -1, "WITHSCORES");
      expect([scoreValue(scores[1]), scoreValue(scores[3])]).toEqual([SCORES[0], SCORES[1]]);
      expect(scoreValue((await newRedis.zrange("retry", 0, -1, "WITHSCORES"))[1])).toBe(SCORES[2]);
      expect(await newRedis.lrange("queue:default", 0, -1)).toEqual(
        await oldRedis.lrange("queue:default", 0, -1),
      );
      expect((await newRedis.smembers("queues")).sort()).toEqual(["default", "low", "mailers"]);
      // Only Sidekiq's jobs: statistics stay behind.
      expect(await newRedis.exists("stat:processed")).toBe(0);
      expect(await newRedis.dbsize()).toBe(6);
    });
  }

  it("needs only reads on the old Redis: a user that may only read (no WATCH, no MULTI) carries too", async () => {
    await seedWindow(oldRedis);
    await oldRedis.call(
      "ACL",
      "SETUSER",
      "reader",
      "reset",
      "on",
      ">reader-pw",
      "~*",
      "-@all",
      "+@read",
      "+@connection",
      "+time",
      "+info",
    );
    const readerUrl = oldUrl.replace(`tines:${TEST_REDIS_USER_PASSWORD}`, "reader:reader-pw");
    const before = await redisState(oldUrl);
    const result = await carrySidekiqJobs(
      { fromUrl: readerUrl, toUrl: newUrl },
      { reporter: silentReporter },
    );
    expect(result.survey.watched).toBe(false);
    expect(result.verified).toEqual({ scheduled: 2, retries: 1, dead: 1, queued: 4 });
    await expectSameContent("schedule", "zset");
    expect(await redisState(oldUrl)).toEqual(before);
    // The same user cannot write: the carry never needed to.
    const reader = new Redis(readerUrl);
    try {
      await expect(reader.zadd("schedule", "1", "x")).rejects.toThrow(/NOPERM/);
    } finally {
      reader.disconnect();
    }
  });

  it("is idempotent: a rerun writes nothing, and a partial copy gets only what it lacks", async () => {
    await seedWindow(oldRedis);
    await carrySidekiqJobs({ fromUrl: oldUrl, toUrl: newUrl }, { reporter: silentReporter });
    const carried = await redisState(newUrl);
    const rerun = await carrySidekiqJobs({ fromUrl: oldUrl, toUrl: newUrl }, { reporter: silentReporter });
    expect(rerun.outcome).toBe("carried");
    expect(rerun.written).toEqual({ scheduled: 0, retries: 0, dead: 0, queued: 0 });
    expect(rerun.survey.alreadyThere).toBe(2 + 1 + 1 + 4 + 3);
    expect(await redisState(newUrl)).toEqual(carried);

    // An operator's earlier, partial copy: one of the two scheduled jobs, same score.
    await newRedis.flushall();
    const [member, score] = await oldRedis.zrange("schedule", 0, 0, "WITHSCORES");
    await newRedis.zadd("schedule", score, member);
    await newRedis.sadd("queues", "default");
    const partial = await carrySidekiqJobs({ fromUrl: oldUrl, toUrl: newUrl }, { reporter: silentReporter });
    expect(partial.written).toEqual({ scheduled: 1, retries: 1, dead: 1, queued: 4 });
    expect(partial.method).toBe("restore+elements");
    await expectSameContent("schedule", "zset");
    await expectSameContent("queues", "set");
  });

  it("carries only Sidekiq's keys under its redis-namespace prefix", async () => {
    await seedWindow(oldRedis, "tines");
    await oldRedis.zadd("schedule", "1", jobJson("default", NOW, "sidekiq8")); // another app's, no prefix
    await oldRedis.set("tines:cache:views/1", "x");
    const before = await redisState(oldUrl);
    const result = await carrySidekiqJobs(
      { fromUrl: oldUrl, toUrl: newUrl, namespace: "tines" },
      { reporter: silentReporter },
    );
    expect(result.written).toEqual({ scheduled: 2, retries: 1, dead: 1, queued: 4 });
    expect((await newRedis.keys("*")).sort()).toEqual([
      "tines:dead",
      "tines:queue:default",
      "tines:queue:mailers",
      "tines:queues",
      "tines:retry",
      "tines:schedule",
    ]);
    await expectSameContent("tines:schedule", "zset");
    expect(await redisState(oldUrl)).toEqual(before);
  });

  it("warns when Sidekiq's keys look namespaced and no namespace is set", async () => {
    await seedWindow(oldRedis, "tines");
    const progress = recorder();
    const result = await carrySidekiqJobs({ fromUrl: oldUrl, toUrl: newUrl }, { reporter: progress });
    expect(result.outcome).toBe("nothing-to-carry");
    expect(progress.warnings.join("\n")).toMatch(
      /redis-namespace prefix "tines"; .*set sidekiq.namespace to tines/,
    );
  });

  it("writes nothing when both URLs reach the same Redis", async () => {
    await seedWindow(oldRedis);
    const before = await redisState(oldUrl);
    const port = new URL(oldUrl).port;
    const result = await carrySidekiqJobs(
      { fromUrl: oldUrl, toUrl: `redis://localhost:${port}/2`.replace("localhost", "127.0.0.1") },
      { reporter: silentReporter },
    );
    expect(result.outcome).toBe("same-redis");
    expect(result.written).toEqual({ scheduled: 0, retries: 0, dead: 0, queued: 0 });
    expect(await redisState(oldUrl)).toEqual(before);
  });

  it("carries every key whole or not at all when aborted half-way; a rerun completes it", async () => {
    const members: Array<string | number> = [];
    for (let i = 0; i < 30_000; i++) members.push(NOW / 1000 + i, jobJson("default", NOW, "sidekiq8"));
    await oldRedis.zadd("schedule", ...members);
    await oldRedis.zadd("retry", ...members.slice(0, 20_000));
    await oldRedis.zadd("dead", ...members.slice(0, 10_000));
    const controller = new AbortController();
    // Once the copy has begun (both sides connected, the survey done): its first line.
    const abortOnFirstLine = {
      info: () => controller.abort(),
      warn: () => undefined,
    };
    const carrying = carrySidekiqJobs(
      { fromUrl: oldUrl, toUrl: newUrl },
      { reporter: abortOnFirstLine, signal: controller.signal, restore: false },
    );
    const error = await carrying.catch((e: unknown) => e);
    expect(isMaintenanceError(error), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/^sidekiq-carry: aborted during the (survey|copy|verification)/);
    for (const set of ["schedule", "retry", "dead"]) {
      const count = await newRedis.zcard(set);
      if (count > 0) await expectSameContent(set, "zset");
    }
    const rerun = await carrySidekiqJobs({ fromUrl: oldUrl, toUrl: newUrl }, { reporter: silentReporter });
    expect(rerun.verified).toEqual({ scheduled: 30_000, retries: 10_000, dead: 5_000, queued: 0 });
  });
});

describe("verification", () => {
  it("fails, naming the key, when something still writes to the old Redis during the carry", async () => {
    await seedWindow(oldRedis);
    // A Sidekiq that was not stopped: it keeps adding scheduled jobs.
    const writer = new Redis(oldUrl);
    let writing = true;
    const written = (async () => {
      for (let i = 0; writing; i++) await writer.zadd("schedule", String(NOW / 1000 + i), `late-${i}`);
    })();
    try {
      const error = await carrySidekiqJobs(
        { fromUrl: oldUrl, toUrl: newUrl },
        { reporter: silentReporter },
      ).catch((e: unknown) => e);
      expect((error as Error).name).toBe("GateError");
      expect((error as Error).message).toMatch(
        /^sidekiq-carry: verification failed for `schedule`: the old Redis holds \d+ entries, the new one \d+; something wrote to one of them during the carry \(is a Sidekiq or Tines still running\?\); the old Redis is unchanged; stop the writer and run again$/,
      );
    } finally {
      writing = false;
      await written;
      writer.disconnect();
    }
  });
});

describe("refusals: one line naming the key and what to do; both servers left as they were", () => {
  async function refused(setup: () => Promise<void>, expected: RegExp, key: string) {
    await seedWindow(oldRedis);
    await setup();
    const before = await bothStates();
    const check = await precheckCarry({ fromUrl: oldUrl, toUrl: newUrl }, { reporter: silentReporter });
    expect(check.refusals.map((r) => r.key)).toContain(key);
    const line = check.refusals.find((r) => r.key === key)!.message;
    expect(line).toMatch(expected);
    expect(line).not.toContain("\n");
    expect(line).toMatch(/nothing was changed$/);
    const error = await carrySidekiqJobs(
      { fromUrl: oldUrl, toUrl: newUrl },
      { reporter: silentReporter },
    ).catch((e: unknown) => e);
    expect((error as Error).name).toBe("GateError");
    expect((error as Error).message).toContain(line);
    expect(await bothStates()).toEqual(before);
    const text = JSON.stringify(check) + (error as Error).message;
    expect(text).not.toContain(TEST_REDIS_USER_PASSWORD);
    expect(text).not.toContain(NEW_PASSWORD);
  }

  it("the new Redis holds a retry the old one does not", async () => {
    await refused(
      () => newRedis.zadd("retry", "1700000000", jobJson("default", NOW, "sidekiq8")).then(() => undefined),
      /^endpoints.redisUrl: the new Redis \(127.0.0.1:\d+ db 5\) already holds 1 entry the old Redis does not hold, e\.g\. jid [0-9a-f]{24} \(HardWorker\), under `retry`; empty `retry` there, or point endpoints.redisUrl at a Redis without Sidekiq data, then run again; nothing was changed$/,
      "retry",
    );
  });

  it("the new Redis holds a scheduled job with another score", async () => {
    await refused(
      async () => {
        const [member, score] = await oldRedis.zrange("schedule", 0, 0, "WITHSCORES");
        await newRedis.zadd("schedule", String(Number(score) + 1), member);
      },
      /already holds 1 entry the old Redis does not hold \(1 with another score\), e\.g\. jid .* under `schedule`/,
      "schedule",
    );
  });

  it("the new Redis holds a different queue", async () => {
    await refused(
      () => newRedis.lpush("queue:default", jobJson("default", NOW, "sidekiq8")).then(() => undefined),
      /already holds a queue of 1 job\(s\) that differs from the old one's 3 under `queue:default`/,
      "queue:default",
    );
  });

  it("the new Redis holds a queue name the old one does not know, or a key of another type", async () => {
    await refused(
      () => newRedis.sadd("queues", "other").then(() => undefined),
      /e\.g\. queue name "other", under `queues`/,
      "queues",
    );
    await newRedis.flushall();
    await oldRedis.flushall();
    await refused(
      () => newRedis.set("dead", "x").then(() => undefined),
      /already holds a string, not a sorted set, under `dead`/,
      "dead",
    );
  });

  it("the old Redis holds a queue that `queues` does not name", async () => {
    await refused(
      () => oldRedis.lpush("queue:orphan", jobJson("orphan", NOW, "sidekiq8")).then(() => undefined),
      /^sidekiq.redisUrl: the old Redis holds 1 job\(s\) in `queue:orphan`, but "orphan" is not in `queues`, the set Sidekiq lists its queues in \(so the drain gate did not count them either\): if they are Tines' jobs, add the name \(SADD queues orphan\) so that Sidekiq's tools and the carry see them, or remove the list; then run again; nothing was changed$/,
      "queue:orphan",
    );
  });

  it("a Sidekiq already runs on the new Redis", async () => {
    await refused(
      async () => {
        await heartbeat(newRedis, "tines-sidekiq-7f9c:1:abc", 0);
        await newRedis.sadd("processes", "gone:1:def"); // expired heartbeat: not live
      },
      /^endpoints.redisUrl: 1 Sidekiq process\(es\) already run on the new Redis \(127.0.0.1:\d+ db 5\), e\.g\. tines-sidekiq-7f9c:1:abc; they would run the carried jobs at once, in the middle of the window: stop them, or point endpoints.redisUrl at a Redis no Tines uses yet, then run again; nothing was changed$/,
      "processes",
    );
  });

  it("the old Redis holds Sidekiq Pro and Enterprise keys", async () => {
    await refused(
      async () => {
        await oldRedis.hset("b-vTF1-9QvLPnREQ", "total", "3");
        await oldRedis.sadd("b-vTF1-9QvLPnREQ-jids", "a", "b", "c");
        await oldRedis.zadd("batches", "1700000000", "vTF1-9QvLPnREQ");
        await oldRedis.set(`unique:${"ab".repeat(32)}`, "jid", "EX", 600);
        await oldRedis.set("dear-leader", "host:1:abc", "EX", 60);
      },
      /^sidekiq.redisUrl: the old Redis holds Sidekiq Pro batches \(`b-vTF1-9QvLPnREQ`, `b-vTF1-9QvLPnREQ-jids`, `batches`\), which the carry does not copy: let the batches finish .*; or set sidekiq.onRedisSwitch to discard and move Sidekiq's data yourself; nothing was changed$/,
      "b-vTF1-9QvLPnREQ",
    );
    const check = await precheckCarry({ fromUrl: oldUrl, toUrl: newUrl }, { reporter: silentReporter });
    expect(check.refusals.map((r) => r.message).join("\n")).toMatch(
      /Sidekiq Enterprise unique-job locks \(`unique:abab/,
    );
    expect(check.refusals.map((r) => r.message).join("\n")).toMatch(
      /Sidekiq Enterprise leader election \(`dear-leader`\)/,
    );
  });

  it("the new Redis cannot be reached: refused, bounded even when it never answers", async () => {
    const closed = await freePort();
    await seedWindow(oldRedis);
    const before = await redisState(oldUrl);
    const unreachable = await precheckCarry(
      { fromUrl: oldUrl, toUrl: `redis://127.0.0.1:${closed}/0` },
      { reporter: silentReporter },
    );
    expect(unreachable.refusals.map((r) => r.message)).toEqual([
      expect.stringMatching(
        /^endpoints.redisUrl: the new Redis cannot be reached: Redis 127.0.0.1:\d+ db 0: connection refused; start it or correct endpoints.redisUrl, then run again; nothing was changed$/,
      ),
    ]);
    // A server that accepts the connection and never answers: the command timeout bounds it.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const started = Date.now();
      const check = await precheckCarry(
        { fromUrl: oldUrl, toUrl: `redis://127.0.0.1:${port}/0` },
        { reporter: silentReporter, commandTimeoutMs: 500 },
      );
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(check.refusals.map((r) => r.message)).toEqual([
        expect.stringMatching(
          /^endpoints.redisUrl: the new Redis cannot be reached: Redis 127.0.0.1:\d+ db 0: accepted the connection but did not answer within 0.5s;/,
        ),
      ]);
    } finally {
      silent.close();
    }
    expect(await redisState(oldUrl)).toEqual(before);
  });
});

describe("inside the window: no pass over the old keyspace", () => {
  it("finds queues through `queues` and Pro/Enterprise keys by their fixed names", async () => {
    await seedWindow(oldRedis);
    for (let i = 0; i < 5000; i++) await oldRedis.set(`cache:views/${i}`, "x");
    const progress = recorder();
    const named = await carrySidekiqJobs(
      { fromUrl: oldUrl, toUrl: newUrl },
      { reporter: progress, scan: "named" },
    );
    expect(named.survey.scannedKeys).toBe(0);
    expect(named.verified).toEqual({ scheduled: 2, retries: 1, dead: 1, queued: 4 });
    await newRedis.flushall();
    await oldRedis.set("dear-leader", "host:1:abc");
    const error = await carrySidekiqJobs(
      { fromUrl: oldUrl, toUrl: newUrl },
      { reporter: silentReporter, scan: "named" },
    ).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/Sidekiq Enterprise leader election \(`dear-leader`\)/);
    expect(await newRedis.dbsize()).toBe(0);
  });
});

describe("the gate: sidekiq.onRedisSwitch, outputs, inputs", () => {
  it("carry: outputs the counts and the sentence, never a password", async () => {
    await seedWindow(oldRedis);
    const pre = await runCarryPrecheck(inputs(), silentReporter);
    expect(pre.summary).toMatch(
      /^4 queued, 2 scheduled for later \(next due in 1h59m\), 1 retry \(next attempt \d+d\d\dh ago\), 1 dead: carried to the new Redis at the switch$/,
    );
    const progress = recorder();
    const out = await runCarryGate(inputs(), progress);
    expect(out).toMatchObject({
      outcome: "carried",
      mode: "carry",
      carried: { scheduled: 2, retries: 1, dead: 1, queued: 4 },
      written: { scheduled: 2, retries: 1, dead: 1, queued: 4 },
      leftBehind: { scheduled: 0, retries: 0, dead: 0, queued: 0 },
      held: {
        scheduled: 2,
        retries: 1,
        dead: 1,
        queued: 4,
        nextScheduledAt: new Date(Math.round(SCORES[0] * 1000)).toISOString(),
      },
      method: "restore",
    });
    expect(out.summary).toMatch(/1 dead: carried to the new Redis$/);
    expect(progress.lines.at(-1)).toMatch(
      /^sidekiq-carry: .*: carried to the new Redis; verified on both sides \(8 entries written, 0 already there, restore, [\d.]+s\)$/,
    );
    const text = JSON.stringify(out) + JSON.stringify(pre) + progress.lines.join("\n");
    expect(text).not.toContain(TEST_REDIS_USER_PASSWORD);
    expect(text).not.toContain(NEW_PASSWORD);
    expect(out.to).toMatch(/^127.0.0.1:\d+$/);
  });

  it("discard: records what is left behind and touches neither Redis", async () => {
    await seedWindow(oldRedis);
    await newRedis.zadd("retry", "1", "someone else's"); // would refuse a carry; discard does not look
    const before = await bothStates();
    const pre = await runCarryPrecheck(inputs({ mode: "discard" }), silentReporter);
    expect(pre.summary).toMatch(
      /1 dead: left behind in the old Redis at the switch \(sidekiq.onRedisSwitch: discard\)$/,
    );
    const progress = recorder();
    const out = await runCarryGate(inputs({ mode: "discard" }), progress);
    expect(out).toMatchObject({
      outcome: "discarded",
      leftBehind: { scheduled: 2, retries: 1, dead: 1, queued: 4 },
      carried: { scheduled: 0, retries: 0, dead: 0, queued: 0 },
    });
    expect(progress.warnings).toEqual([
      expect.stringMatching(/left behind in the old Redis \(sidekiq.onRedisSwitch: discard\)$/),
    ]);
    expect(await bothStates()).toEqual(before);
  });

  it("the pre-check throws every refusal in one GateError", async () => {
    await seedWindow(oldRedis);
    await oldRedis.set("dear-leader", "x");
    await newRedis.zadd("dead", "1", "x");
    const error = await runCarryPrecheck(inputs(), silentReporter).catch((e: unknown) => e);
    expect((error as Error).name).toBe("GateError");
    expect((error as Error).message.split("; nothing was changed").filter(Boolean)).toHaveLength(2);
  });

  it("checks its inputs without I/O", () => {
    expect(checkCarryInputs({ ...inputs() })).toEqual([]);
    expect(checkCarryInputs({ ...inputs(), fromUrl: "http://x", mode: "copy", namespace: ":x" })).toEqual([
      { property: "fromUrl", reason: 'must be a redis:// or rediss:// URL, got scheme "http"' },
      { property: "mode", reason: "must be one of: carry, discard" },
      { property: "namespace", reason: "must be a non-empty prefix without spaces, not starting with ':'" },
    ]);
  });
});

describe("the Redis facts the carry relies on", () => {
  it("a DUMP payload the server cannot read is refused with the message the fallback looks for", async () => {
    const error = await newRedis.restore("x", 0, Buffer.from("not a dump payload")).catch((e: unknown) => e);
    expect(String(error)).toMatch(/payload version or checksum/);
  });

  it("DUMP and the digest tell a single score apart; equal sets compare equal", async () => {
    const member = jobJson("default", NOW, "sidekiq8");
    await oldRedis.zadd("schedule", "1700000000.5", member);
    await newRedis.zadd("schedule", "1700000000.5", member);
    expect(await sameDump(oldRedis, newRedis, "schedule")).toBe(true);
    await newRedis.zadd("schedule", "1700000000.5000002", member);
    expect(await sameDump(oldRedis, newRedis, "schedule")).toBe(false);
    const [a, b] = await Promise.all([
      digestKey(oldRedis, "schedule", "zset"),
      digestKey(newRedis, "schedule", "zset"),
    ]);
    expect(a.count).toBe(b.count);
    expect(a.sha256).not.toBe(b.sha256);
  });
});
