import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseStackConfig } from "../../lib/config/stackConfig";
import { SEED_ORDER } from "../../testkit/runbook";
import { runCli, type CliRun } from "../../testkit/cliChild";
import { makePlanCommand, planText } from "./plan";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "plan-cli-"));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The real dispatcher (`cli/maint.ts`) in a child process, without the caller's PULUMI_STACK. */
function maint(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliRun> {
  return runCli(args, { cwd: options.cwd, env: { PULUMI_STACK: undefined, ...options.env } });
}

let counter = 0;
function projectWith(stacks: Record<string, string>): string {
  const dir = path.join(work, `p${++counter}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: tines-maintenance\nruntime: nodejs\n");
  for (const [stack, text] of Object.entries(stacks))
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
  return dir;
}

const ALL_SEVEN = [
  "    nginx: 2",
  "    tines-app: 3",
  "    tines-sidekiq: 4",
  "    tines-command-runner: 1",
  "    redis: 1",
  "    postgres: 1",
  "    pypi-server: 1",
].join("\n");

const STACKS = {
  ecs: [
    "config:",
    "  aws:region: eu-west-1",
    "  tines-maintenance:phase: running",
    "  tines-maintenance:platform: ecs",
    "  tines-maintenance:ecs:",
    "    cluster: tines-prod",
    "  tines-maintenance:services:",
    ALL_SEVEN,
    "  tines-maintenance:keepRunning: [postgres]",
    "  tines-maintenance:sidekiq:",
    "    redisUrl:",
    "      secure: v1:c2VjcmV0Y2lwaGVydGV4dA==",
  ].join("\n"),
  kubernetes: [
    "config:",
    "  tines-maintenance:phase: running",
    "  tines-maintenance:platform: kubernetes",
    "  tines-maintenance:services:",
    "    nginx: 2",
    "    tines-app: {count: 3, name: tines-web}",
    "    tines-sidekiq: 4",
    "    tines-command-runner: 1",
    "    redis: {count: 1, kind: Deployment}",
    "    postgres: 1",
    "    pypi-server: 1",
    "  tines-maintenance:sidekiq:",
    "    redisUrl:",
    "      secure: v1:c2VjcmV0Y2lwaGVydGV4dA==",
  ].join("\n"),
  compose: [
    "config:",
    "  tines-maintenance:phase: running",
    "  tines-maintenance:platform: compose",
    "  tines-maintenance:compose:",
    "    projectName: tines",
    "    projectDirectory: /opt/tines",
    "  tines-maintenance:services:",
    ALL_SEVEN,
    "  tines-maintenance:sidekiq:",
    "    redisUrl:",
    "      secure: v1:c2VjcmV0Y2lwaGVydGV4dA==",
  ].join("\n"),
};

/** `[service, workload, target count, kept running]` as the plan lines state them. */
function serviceLines(stdout: string): Array<[string, string, number, boolean]> {
  return stdout
    .split("\n")
    .map((line) => /^\s*\d+\. service (\S+) \[(\S+)\]: (?:scale to (\d+)|kept running at (\d+))/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], m[2], Number(m[3] ?? m[4]), m[4] !== undefined]);
}

const DOWN = [...SEED_ORDER];
const COUNTS: Record<string, number> = {
  nginx: 2,
  "tines-app": 3,
  "tines-sidekiq": 4,
  "tines-command-runner": 1,
  redis: 1,
  postgres: 1,
  "pypi-server": 1,
};
const WORKLOADS: Record<string, Record<string, string>> = {
  ecs: Object.fromEntries(DOWN.map((k) => [k, k])),
  compose: { ...Object.fromEntries(DOWN.map((k) => [k, k])), nginx: "tines-nginx" },
  kubernetes: {
    nginx: "Deployment/nginx",
    "tines-app": "Deployment/tines-web",
    "tines-sidekiq": "Deployment/tines-sidekiq",
    "tines-command-runner": "Deployment/tines-command-runner",
    redis: "Deployment/redis",
    postgres: "StatefulSet/postgres",
    "pypi-server": "Deployment/pypi-server",
  },
};
const KEPT: Record<string, string[]> = { ecs: ["postgres"], kubernetes: [], compose: [] };

describe("maint plan (child process, as operators and CI run it)", () => {
  const dir = projectWith(STACKS);

  for (const platform of ["ecs", "kubernetes", "compose"] as const) {
    it.concurrent(
      `${platform}: shutdown scales down in the seed's order, keeping keepRunning up`,
      async () => {
        const run = await maint(["plan", "--stack", platform, "--phase", "shutdown", "--project-dir", dir]);
        expect(run.stderr).toBe("");
        expect(run.code).toBe(0);
        expect(run.stdout.split("\n")[0]).toBe(
          `stack ${platform} (Pulumi.${platform}.yaml with --phase shutdown)`,
        );
        expect(run.stdout).toMatch(new RegExp(`^phase shutdown on ${platform}: \\d+ steps`, "m"));
        expect(serviceLines(run.stdout)).toEqual(
          DOWN.map((key) => {
            const kept = KEPT[platform].includes(key);
            return [key, WORKLOADS[platform][key], kept ? COUNTS[key] : 0, kept];
          }),
        );
        expect(run.stdout).not.toMatch(/c2VjcmV0|v1:/);
      },
    );

    it.concurrent(
      `${platform}: running starts up in the exact reverse order at the configured counts`,
      async () => {
        const run = await maint(["plan", "--stack", `acme/tines-maintenance/${platform}`], { cwd: dir });
        expect(run.stderr).toBe("");
        expect(run.code).toBe(0);
        expect(run.stdout).toMatch(new RegExp(`^phase running on ${platform}: \\d+ steps`, "m"));
        expect(serviceLines(run.stdout)).toEqual(
          [...DOWN].reverse().map((key) => [key, WORKLOADS[platform][key], COUNTS[key], false]),
        );
      },
    );
  }

  it.concurrent("takes the stack from PULUMI_STACK, and the only stack file when there is one", async () => {
    const fromEnv = await maint(["plan"], { cwd: dir, env: { PULUMI_STACK: "compose" } });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stdout).toMatch(/^stack compose /);
    const single = projectWith({ solo: STACKS.ecs });
    const only = await maint(["plan"], { cwd: single });
    expect(only.code).toBe(0);
    expect(only.stdout).toMatch(/^stack solo /);
  });

  const errorCases: Array<{ what: string; stack: string; args?: string[]; expected: RegExp }> = [
    {
      what: "an unknown key",
      stack: `${STACKS.compose}\n  tines-maintenance:bogus: 1\n`,
      expected: /bogus/,
    },
    {
      what: "an unknown phase in the file",
      stack: STACKS.compose.replace("phase: running", "phase: paused"),
      expected: /tines-maintenance:phase: .*running, shutdown/,
    },
    {
      what: "keepRunning naming a service that is not in services",
      stack:
        STACKS.compose.replace("    postgres: 1\n", "") + "\n  tines-maintenance:keepRunning: [postgres]\n",
      expected: /tines-maintenance:keepRunning\.0: "postgres" is not in services/,
    },
    {
      what: "an unknown service key",
      stack: STACKS.ecs.replace("    nginx: 2", "    haproxy: 2"),
      expected: /tines-maintenance:services\.haproxy: unknown service key; allowed: nginx, tines-app/,
    },
  ];
  for (const c of errorCases) {
    it.concurrent(`refuses ${c.what} with the program's own one-line message`, async () => {
      const bad = projectWith({ bad: c.stack });
      const run = await maint(["plan", "--stack", "bad", "--project-dir", bad]);
      expect(run.code).not.toBe(0);
      expect(run.stdout).toBe("");
      expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(run.stderr).toMatch(c.expected);
      // The same validation the program runs, on the same values, gives the same words.
      let programMessage = "";
      try {
        const { readStackFile } = await import("../../lib/config/stackFile");
        parseStackConfig(readStackFile({ projectDir: bad, stack: "bad" }).raw);
      } catch (error) {
        programMessage = (error as Error).message;
      }
      expect(programMessage).not.toBe("");
      expect(run.stderr).toBe(`maint plan: ${programMessage}\n`);
    });
  }

  it.concurrent(
    "refuses a bad --phase, an unknown flag and an ambiguous stack with one line each",
    async () => {
      const [phase, flag, ambiguous] = await Promise.all([
        maint(["plan", "--stack", "ecs", "--phase", "paused", "--project-dir", dir]),
        maint(["plan", "--stacks", "ecs", "--project-dir", dir]),
        maint(["plan", "--project-dir", dir]),
      ]);
      expect(phase.stderr).toBe('maint plan: --phase must be one of: running, shutdown, got "paused"\n');
      expect(flag.stderr).toMatch(
        /^maint plan: Unknown option '--stacks'.*; usage: plan \[--stack NAME\][^\n]*\n$/,
      );
      expect(ambiguous.stderr).toMatch(
        /^maint plan: --stack is required: .*stacks found: compose, ecs, kubernetes\n$/,
      );
      for (const run of [phase, flag, ambiguous]) {
        expect(run.code).not.toBe(0);
        expect(run.stdout).toBe("");
      }
    },
  );
});

describe("plan command module", () => {
  const dir = projectWith({ ecs: STACKS.ecs });

  it("prints through the injected output and returns exit code 0", async () => {
    let printed = "";
    const command = makePlanCommand({ cwd: () => dir, env: {}, out: (text) => (printed += text) });
    expect(command.name).toBe("plan");
    expect(await command.run(["--phase", "shutdown"])).toBe(0);
    expect(printed).toBe(planText(["--phase", "shutdown"], { cwd: () => dir, env: {} }));
    expect(serviceLines(printed).map(([key]) => key)).toEqual(DOWN);
  });

  it("applies --phase over the file without touching the file", () => {
    const before = fs.readFileSync(path.join(dir, "Pulumi.ecs.yaml"), "utf8");
    expect(planText(["--phase", "shutdown"], { cwd: () => dir, env: {} })).toMatch(/phase shutdown on ecs/);
    expect(planText([], { cwd: () => dir, env: {} })).toMatch(/phase running on ecs/);
    expect(fs.readFileSync(path.join(dir, "Pulumi.ecs.yaml"), "utf8")).toBe(before);
  });

  /** A stack whose every gate carries a credential; `secure`: each as `pulumi config set --secret` writes it. */
  const credentialStack = (secure: boolean) => {
    const value = (plain: string) =>
      secure ? `{secure: "v1:${Buffer.from(plain).toString("base64")}"}` : plain;
    return [
      "config:",
      "  tines-maintenance:platform: compose",
      "  tines-maintenance:compose:",
      "    projectName: tines",
      "    projectDirectory: /srv/tines",
      "  tines-maintenance:services:",
      "    tines-app: 2",
      "    tines-sidekiq: 2",
      "    postgres: 1",
      "  tines-maintenance:keepRunning: [postgres]",
      "  tines-maintenance:sidekiq:",
      `    redisUrl: ${value("redis://:redisPw1@redis.internal:6379/0")}`,
      "  tines-maintenance:database:",
      `    url: ${value("postgresql://tines:dbPw2@old-db.internal:5432/tines")}`,
      "    backup:",
      "      directory: /var/backups/tines",
      "    migration:",
      `      targetUrl: ${value("postgresql://tines:targetPw3@new-db.internal:5432/tines")}`,
      "  tines-maintenance:endpoints:",
      "    databaseHost: new-db.internal",
      `    redisUrl: ${value("redis://:newRedisPw4@new-redis.internal:6379/0")}`,
      "    propagation:",
      "      database:",
      "        user: tines",
      `        password: ${value("probePw6")}`,
      "        name: tines",
      "  tines-maintenance:health:",
      `    url: ${value("https://ops:healthPw5@tines.internal/is_up")}`,
      "",
    ].join("\n");
  };
  const passwords = ["redisPw1", "dbPw2", "targetPw3", "newRedisPw4", "healthPw5", "probePw6"];

  it("plans every gate from secret credentials, and never prints one", () => {
    const secrets = projectWith({ prod: credentialStack(true) });
    const shutdown = planText(["--stack", "prod", "--phase", "shutdown"], { cwd: () => secrets, env: {} });
    const running = planText(["--stack", "prod", "--phase", "running"], { cwd: () => secrets, env: {} });
    expect(shutdown).toMatch(/gate +sidekiq-drain/);
    expect(shutdown).toMatch(/gate +database-migration/);
    expect(shutdown).toMatch(/gate +endpoint-switch/);
    expect(running).toMatch(/gate +endpoint-propagation/);
    expect(running).toMatch(/gate +tines-health/);
    for (const password of passwords) {
      expect(shutdown).not.toContain(password);
      expect(running).not.toContain(password);
    }
    expect(`${shutdown}${running}`).not.toContain("[object Object]");
  });

  it("refuses credentials set without --secret, in one line naming each key, never printing one (issue 20, item 7)", async () => {
    const plain = projectWith({ prod: credentialStack(false) });
    const run = await maint(["plan", "--stack", "prod", "--project-dir", plain]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
    for (const key of [
      "sidekiq.redisUrl",
      "database.url",
      "database.migration.targetUrl",
      "endpoints.redisUrl",
      "endpoints.propagation.database.password",
      "health.url",
    ]) {
      expect(run.stderr).toContain(
        `tines-maintenance:${key}: holds a password but is not a secret; set it with \`pulumi config set --secret --path ${key} ...\``,
      );
    }
    for (const password of passwords) expect(run.stderr).not.toContain(password);
  });
});
