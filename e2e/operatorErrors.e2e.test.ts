/**
 * What an operator reads when something is refused, under the real Pulumi CLI with the
 * policy pack: each kind of bad config, and an endpoint change refused in phase running
 * on a Compose stack. Every refusal is one readable line naming the key; none prints a
 * stack trace, `[object Object]` or `undefined`. Preview only: nothing is contacted
 * (the Compose project is a directory with a compose file and a `.env`).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_NAME } from "../lib/plan/names";
import { PulumiStack, type CliResult } from "../testkit/pulumiCli";

const POLICY_PACK = "tines-maintenance-seed-rules";
const OLD_DATABASE_HOST = "old-db.internal.example";
const OLD_REDIS_URL = "redis://old-redis.internal.example:6379/0";

/** A line of a JavaScript stack trace, as Node prints them. */
const STACK_FRAME = /^\s+at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/m;

function expectReadable(result: CliResult): string {
  const output = result.stdout + result.stderr;
  expect(output, output).not.toMatch(STACK_FRAME);
  expect(output, output).not.toContain("[object Object]");
  expect(output, output).not.toMatch(/: undefined\b/);
  return output;
}

describe("operator-facing errors under the real Pulumi CLI (compose, preview)", () => {
  let stack: PulumiStack;
  let projectDir: string;
  let salt: string;

  const base = () => ({
    phase: "running",
    platform: "compose",
    compose: { projectName: "tines", projectDirectory: projectDir },
    services: { nginx: 1, "tines-app": 2 },
  });

  /** Writes the whole stack config file at once (one CLI call per key would take minutes here). */
  const configure = (config: Record<string, unknown>) =>
    writeFileSync(
      stack.configFile,
      stringify({
        encryptionsalt: salt,
        config: Object.fromEntries(Object.entries(config).map(([k, v]) => [`${PROJECT_NAME}:${k}`, v])),
      }),
    );

  beforeAll(async () => {
    stack = new PulumiStack({ stack: "e2e-errors" });
    await stack.init();
    salt = /encryptionsalt: (\S+)/.exec(readFileSync(stack.configFile, "utf8"))![1];
    projectDir = path.join(stack.dir, "compose-project");
    mkdirSync(projectDir);
    writeFileSync(
      path.join(projectDir, "docker-compose.yml"),
      "services:\n  tines-nginx:\n    image: nginx\n  tines-app:\n    image: tines/tines-app\n",
    );
    writeFileSync(
      path.join(projectDir, ".env"),
      `DATABASE_HOST=${OLD_DATABASE_HOST}\nREDIS_URL=${OLD_REDIS_URL}\n`,
    );
  });

  afterAll(() => {
    if (stack && !process.env.E2E_KEEP) stack.remove();
  });

  it("phase running with endpoints as they are: the policy pack passes the record (issue 12, item 1)", async () => {
    configure({ ...base(), endpoints: { databaseHost: OLD_DATABASE_HOST } });
    const result = await stack.preview();
    const output = expectReadable(result);
    console.log(
      `--- preview running + endpoints unchanged: exit ${result.code} in ${result.seconds.toFixed(1)} s`,
    );
    expect(result.code, output).toBe(0);
    expect(output).toContain(POLICY_PACK);
    expect(output).not.toMatch(/mandatory/i);
  });

  it("phase running, endpoints.databaseHost changed: refused in one readable line (item 8)", async () => {
    configure({ ...base(), endpoints: { databaseHost: "new-db.internal.example" } });
    const result = await stack.preview();
    const output = expectReadable(result);
    console.log(
      `--- preview running + endpoint change: exit ${result.code} in ${result.seconds.toFixed(1)} s`,
    );
    expect(result.code, output).not.toBe(0);
    expect(output).toContain(
      "endpoint-switch: refused to change endpoints.databaseHost: phase is running; endpoints may change only with phase shutdown",
    );
    expect(readFileSync(path.join(projectDir, ".env"), "utf8")).toContain(
      `DATABASE_HOST=${OLD_DATABASE_HOST}\n`,
    );
  });

  const badConfigs: Array<[string, () => Record<string, unknown>, string]> = [
    ["an unknown phase", () => ({ ...base(), phase: "paused" }), `${PROJECT_NAME}:phase: must be one of`],
    [
      "an unknown service key",
      () => ({ ...base(), services: { "tines-ap": 1 } }),
      `${PROJECT_NAME}:services.tines-ap: unknown service key; allowed:`,
    ],
    [
      "keepRunning naming a service not in services",
      () => ({ ...base(), phase: "shutdown", keepRunning: ["redis"] }),
      '"redis" is not in services',
    ],
    [
      "a shutdown that stops tines-sidekiq without sidekiq.redisUrl",
      () => ({ ...base(), phase: "shutdown", services: { "tines-sidekiq": 2 } }),
      `${PROJECT_NAME}:sidekiq.redisUrl: required to stop tines-sidekiq`,
    ],
    [
      "a drain gate that could never settle",
      () => ({
        ...base(),
        phase: "shutdown",
        services: { "tines-sidekiq": 2 },
        sidekiq: { redisUrl: "redis://127.0.0.1:1/0", windowSeconds: 10, settleSeconds: 20 },
      }),
      `${PROJECT_NAME}:sidekiq.settleSeconds: must be <= windowSeconds`,
    ],
    [
      "a migration while postgres would stop",
      () => ({
        ...base(),
        phase: "shutdown",
        services: { "tines-app": 1, postgres: 1 },
        database: {
          // No password: one set without --secret is refused first, by its own check.
          url: "postgresql://tines@127.0.0.1:1/tines",
          backup: { enabled: false },
          migration: { targetUrl: "postgresql://tines@127.0.0.1:2/tines" },
        },
      }),
      `${PROJECT_NAME}:database.migration: needs keepRunning: [postgres]`,
    ],
    [
      "an endpoint target of another platform",
      () => ({
        ...base(),
        endpoints: { databaseHost: "x", target: { kind: "secrets-manager", secretId: "s" } },
      }),
      `${PROJECT_NAME}:endpoints.target.kind: "secrets-manager" does not apply to platform compose`,
    ],
    [
      "compose without its project directory",
      () => ({ ...base(), compose: { projectName: "tines" } }),
      `${PROJECT_NAME}:compose.projectDirectory: required when platform is compose`,
    ],
    [
      "a structured key set without --path",
      () => ({ ...base(), "services.tines-app": 1 }),
      `${PROJECT_NAME}:services.tines-app: structured keys must be set with \`pulumi config set --path`,
    ],
  ];

  it.each(badConfigs)(
    "%s: refused before anything, one line naming the key (item 7)",
    async (_name, config, message) => {
      configure(config());
      const result = await stack.preview();
      const output = expectReadable(result);
      console.log(`--- preview with ${_name}: exit ${result.code} in ${result.seconds.toFixed(1)} s`);
      expect(result.code, output).not.toBe(0);
      expect(output).toContain(message);
    },
  );
});
