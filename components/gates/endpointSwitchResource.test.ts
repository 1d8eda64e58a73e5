import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sha256 } from "../../lib/endpoints/guard";
import {
  endpointSwitchProvider,
  type EndpointSwitchInputs,
  type EndpointSwitchOutputs,
} from "./endpointSwitch";

const provider = endpointSwitchProvider.provider;

const OLD_URL = "redis://:0ldSecret@old-redis:6379/1";
const NEW_URL = "redis://:N3wSecret@new-redis.internal:6379/1";
const ENV = `# compose env\nTINES_VERSION=v1\nDATABASE_HOST=old-db\nREDIS_URL=${OLD_URL}\n`;
const RUNNING = "phase is running; endpoints may change only with phase shutdown";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function envFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "endpoint-switch-"));
  dirs.push(dir);
  const file = path.join(dir, ".env");
  writeFileSync(file, ENV, { mode: 0o600 });
  return file;
}

function inputs(file: string, overrides: Partial<EndpointSwitchInputs> = {}): EndpointSwitchInputs {
  return {
    phase: "shutdown",
    target: { kind: "env-file", path: file },
    keys: { databaseHost: "DATABASE_HOST", redisUrl: "REDIS_URL" },
    databaseHost: "new-db.internal",
    redisUrl: NEW_URL,
    reached: { "tines-app": 0, "tines-sidekiq": 0 },
    ...overrides,
  };
}

/**
 * The refusal as the operator sees it: from `check`, a check failure (the engine prints
 * "... has a problem: <reason>"); from `diff`, an error, which the provider host prints as
 * `${error}: ${error.stack}`: one readable line, no stack trace, no `[object Object]`.
 * (`create`/`update` errors are reported by their message alone.)
 */
async function refusal(promise: Promise<unknown>, printedByHost = true): Promise<string> {
  const outcome = await promise.then(
    (value) => ({ value: value as { failures?: Array<{ property: string; reason: string }> } }),
    (error: unknown) => ({ error: error as Error }),
  );
  if ("error" in outcome) {
    if (!printedByHost) return outcome.error.message;
    const printed = `${String(outcome.error)}: ${outcome.error.stack}`;
    expect(printed).toBe(`${outcome.error.message}: nothing was changed`);
    return outcome.error.message;
  }
  expect(outcome.value.failures).toHaveLength(1);
  expect(outcome.value.failures![0].property).toBe("");
  return outcome.value.failures![0].reason;
}

describe("endpointSwitchProvider", () => {
  it("in shutdown writes both values, keeps a backup, and outputs hosts only", async () => {
    const file = envFile();
    const before = Date.now();
    const { outs } = await provider.create!(inputs(file));
    expect(readFileSync(file, "utf8")).toBe(
      `# compose env\nTINES_VERSION=v1\nDATABASE_HOST=new-db.internal\nREDIS_URL=${NEW_URL}\n`,
    );
    expect(outs).toMatchObject({
      target: file,
      databaseHost: "new-db.internal",
      redisHost: "new-redis.internal",
      redisUrlSha256: sha256(NEW_URL),
      previousDatabaseHost: "old-db",
      previousRedisHost: "old-redis",
      backup: expect.stringMatching(/\.env\.bak-\d{8}T\d{6}Z$/),
    });
    expect(outs.switchedAt).toBeGreaterThanOrEqual(before);
    expect(readFileSync(outs.backup, "utf8")).toBe(ENV);
    expect(JSON.stringify(outs)).not.toMatch(/N3wSecret|0ldSecret/);
  });

  it("in running phase refuses a change at check and diff (both run at preview), touching nothing", async () => {
    const file = envFile();
    const applied = (await provider.create!(inputs(file, { databaseHost: "old-db", redisUrl: OLD_URL })))
      .outs as EndpointSwitchOutputs;
    expect(readFileSync(file, "utf8")).toBe(ENV);
    const oldInputs = inputs(file, { databaseHost: "old-db", redisUrl: OLD_URL });
    const changed = inputs(file, { phase: "running", refusal: RUNNING, redisUrl: OLD_URL });

    expect(await refusal(provider.check!(oldInputs, changed))).toBe(
      `endpoint-switch: refused to change endpoints.databaseHost: ${RUNNING}. ` +
        "Set phase shutdown and run pulumi up first (all services down), then change endpoints; nothing was changed",
    );
    expect(await refusal(provider.diff!("id", applied, changed))).toMatch(
      /refused to change endpoints\.databaseHost: phase is running/,
    );
    const secretChanged = inputs(file, { phase: "running", refusal: RUNNING, databaseHost: "old-db" });
    const message = await refusal(provider.diff!("id", applied, secretChanged));
    expect(message).toMatch(/refused to change endpoints\.redisUrl/);
    expect(message).not.toMatch(/N3wSecret|0ldSecret/);
    await refusal(provider.update!("id", applied, changed), false);
    expect(readFileSync(file, "utf8")).toBe(ENV);

    // Unchanged endpoints pass in running phase, and the record keeps the last switch.
    const same = inputs(file, {
      phase: "running",
      refusal: RUNNING,
      databaseHost: "old-db",
      redisUrl: OLD_URL,
    });
    expect((await provider.check!(oldInputs, same)).inputs).toEqual(same);
    expect(await provider.diff!("id", applied, same)).toEqual({ changes: false });
    expect((await provider.update!("id", { ...applied, switchedAt: 42 }, same)).outs).toMatchObject({
      switchedAt: 42,
    });
  });

  it("without a previous state compares with the live file, at preview (check) and at create", async () => {
    const file = envFile();
    const changed = inputs(file, { phase: "running", refusal: RUNNING });
    expect(await refusal(provider.check!({}, changed))).toMatch(
      /endpoints\.databaseHost and endpoints\.redisUrl: phase is running/,
    );
    await refusal(provider.create!(changed), false);
    expect(readFileSync(file, "utf8")).toBe(ENV);
    expect(readdirSync(path.dirname(file))).toEqual([".env"]);
    const same = inputs(file, {
      phase: "running",
      refusal: RUNNING,
      databaseHost: "old-db",
      redisUrl: OLD_URL,
    });
    expect((await provider.create!(same)).outs).toMatchObject({
      databaseHost: "old-db",
      redisHost: "old-redis",
    });
  });

  it("refuses in shutdown when an application service is kept running, or still reported up", async () => {
    const file = envFile();
    const applied = (await provider.create!(inputs(file, { databaseHost: "old-db", redisUrl: OLD_URL })))
      .outs as EndpointSwitchOutputs;
    const kept = inputs(file, {
      refusal: "tines-app would stay up (keepRunning); every application service must be at 0",
    });
    expect(await refusal(provider.diff!("id", applied, kept))).toMatch(/tines-app would stay up/);
    const stillUp = inputs(file, { reached: { "tines-app": 0, "tines-sidekiq": 2 } });
    expect(await provider.diff!("id", applied, stillUp)).toEqual({ changes: true });
    expect(await refusal(provider.update!("id", applied, stillUp), false)).toMatch(
      /still up: tines-sidekiq \(2 running\)/,
    );
    expect(readFileSync(file, "utf8")).toBe(ENV);
  });

  it("ignores counts unknown at preview, and a target it cannot read is named", async () => {
    const file = envFile();
    const preview = inputs(file, {
      reached: { "tines-app": "04da6b54-80e4-46f7-96ec-b56ff0331ba9" as unknown as number },
    });
    expect((await provider.check!({}, preview)).inputs).toEqual(preview);
    const missing = inputs(path.join(path.dirname(file), "nope.env"), { phase: "running", refusal: RUNNING });
    const error = await provider.create!(missing).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^endpoint-switch: reading .*nope\.env failed: ENOENT/);
  });

  it("kubernetes targets compare with the live values the program read", async () => {
    const target = { kind: "kubernetes-secret" as const, name: "tines-env", namespace: "tines" };
    const live = { databaseHost: "old-db", redisUrl: OLD_URL };
    const changed = { ...inputs("unused", { phase: "running", refusal: RUNNING }), target, live };
    expect(await refusal(provider.check!({}, changed))).toMatch(/phase is running/);
    const same = { ...changed, databaseHost: "old-db", redisUrl: OLD_URL };
    expect((await provider.create!(same)).outs).toMatchObject({
      target: "Secret tines/tines-env",
      databaseHost: "old-db",
    });
    const shutdown = { ...changed, phase: "shutdown" as const, refusal: undefined };
    const { outs } = await provider.create!(shutdown);
    expect(outs).toMatchObject({
      databaseHost: "new-db.internal",
      redisHost: "new-redis.internal",
      previousDatabaseHost: "old-db",
    });
    expect(outs.switchedAt).toBeGreaterThan(0);
  });
});
