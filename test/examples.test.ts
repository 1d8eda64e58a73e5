/**
 * Every stack file under examples/ is ready to use: `maint plan` (the real CLI, as
 * `npm run -s maint` runs it) accepts it in both phases, next to this project's Pulumi.yaml,
 * and prints the seed's order for its platform.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SEED_ORDER } from "../testkit/runbook";

const ROOT = path.resolve(__dirname, "..");
const TSX = path.join(ROOT, "node_modules/.bin/tsx");
const work = mkdtempSync(path.join(os.tmpdir(), "examples-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function maintPlan(projectDir: string, stack: string, phase: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      TSX,
      [
        path.join(ROOT, "cli/maint.ts"),
        "plan",
        "--project-dir",
        projectDir,
        "--stack",
        stack,
        "--phase",
        phase,
      ],
      { cwd: ROOT },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The service steps of a plan, in order, as `maint plan` prints them. */
function serviceSteps(stdout: string): string[] {
  return [...stdout.matchAll(/^\s*\d+\. service (\S+) /gm)].map((m) => m[1]);
}

const EXPECTED: Record<string, { platform: string; shutdown: string[] }> = {
  ecs: {
    platform: "ecs",
    shutdown: ["tines-app", "tines-sidekiq", "tines-command-runner", "pypi-server"],
  },
  kubernetes: {
    platform: "kubernetes",
    shutdown: ["tines-app", "tines-sidekiq", "tines-command-runner", "pypi-server"],
  },
  compose: {
    platform: "compose",
    shutdown: [...SEED_ORDER],
  },
};

describe("examples/: one ready stack file per platform", () => {
  const files = readdirSync(path.join(ROOT, "examples")).filter((f) => /^Pulumi\..+\.yaml$/.test(f));

  it("has exactly one stack file per platform", () => {
    expect(files.sort()).toEqual(
      Object.keys(EXPECTED)
        .map((s) => `Pulumi.${s}.yaml`)
        .sort(),
    );
  });

  for (const [stack, expected] of Object.entries(EXPECTED)) {
    it(`${stack}: maint plan accepts it and prints the seed's order in both phases`, async () => {
      const dir = mkdtempSync(path.join(work, `${stack}-`));
      copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
      copyFileSync(
        path.join(ROOT, "examples", `Pulumi.${stack}.yaml`),
        path.join(dir, `Pulumi.${stack}.yaml`),
      );

      const down = await maintPlan(dir, stack, "shutdown");
      expect(down.code, down.stderr).toBe(0);
      expect(down.stdout).toContain(`phase shutdown on ${expected.platform}`);
      expect(serviceSteps(down.stdout)).toEqual(expected.shutdown);
      expect(down.stdout).toContain("gate    sidekiq-drain");
      expect(down.stdout).toContain("gate    database-backup");

      const up = await maintPlan(dir, stack, "running");
      expect(up.code, up.stderr).toBe(0);
      expect(serviceSteps(up.stdout)).toEqual([...expected.shutdown].reverse());
    }, 60_000);
  }
});
