/**
 * `pulumi up` interrupted during a service step, as operators meet it: once with SIGINT
 * (Ctrl-C) and once with SIGKILL of its process group, while the real Compose engine is
 * stopping `tines-command-runner` within its 15 s stop_grace_period. Then the recovery of
 * docs/RUNBOOK.md §3b. Checked with `docker compose ps` itself: every service where the
 * phase wants it, and startup restarts the very same containers.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEngine, type TestEngine } from "../testkit/servers/dockerEngine";
import { ComposeCli, composeShutdownConfig, findComposeBinary, writeTinesProject } from "../testkit/compose";
import { PulumiStack, type CliResult } from "../testkit/pulumiCli";

const PROJECT = "tines";
const TOUCHED = ["tines-app", "tines-command-runner", "pypi-server"];
const SLOW_STEP = "tines-command-runner";
const GRACE_SECONDS = 15;

function log(step: string, result: CliResult): string {
  console.log(`--- ${step}: exit ${result.code} in ${result.seconds.toFixed(1)} s`);
  return result.stdout + result.stderr;
}

describe("an update interrupted during a service step (real Pulumi CLI, real docker compose)", () => {
  let engine: TestEngine;
  let cli: ComposeCli;
  let stack: PulumiStack;
  let projectDir: string;
  let containerIds: Record<string, string>;

  /** Service -> container state, as `docker compose ps` reports it. */
  const states = async () => Object.fromEntries((await cli.ps()).map((row) => [row.Service, row.State]));
  const expectPhase = async (phase: "shutdown" | "running") => {
    const now = await states();
    for (const [service, state] of Object.entries(now)) {
      expect(state, service).toBe(phase === "shutdown" && TOUCHED.includes(service) ? "exited" : "running");
    }
    expect(Object.fromEntries((await cli.ps()).map((row) => [row.Service, row.ID]))).toEqual(containerIds);
  };

  /** Starts the shutdown and signals it while the slow step's container is inside its grace period. */
  async function interruptDuringSlowStep(signal: NodeJS.Signals): Promise<CliResult> {
    const run = stack.startUp(`e2e: shutdown, ${signal} during ${SLOW_STEP}`);
    const deadline = Date.now() + 300_000;
    while ((await states())["tines-app"] !== "exited") {
      if (Date.now() > deadline) throw new Error(`tines-app never stopped:\n${run.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // tines-app is down; the program now stops the command runner, which ignores SIGTERM.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect((await states())[SLOW_STEP], "still inside its grace period").toBe("running");
    process.kill(-run.child.pid!, signal);
    return run.done;
  }

  beforeAll(async () => {
    engine = await startTestEngine();
    projectDir = mkdtempSync(path.join(os.tmpdir(), "tines-maint-interrupt-project-"));
    writeTinesProject(projectDir, {
      graces: { [SLOW_STEP]: GRACE_SECONDS },
      ignoreTerm: [SLOW_STEP],
      env: { DATABASE_HOST: "db.internal", REDIS_URL: "redis://redis.internal:6379/0" },
    });
    cli = new ComposeCli(engine.dockerHost, projectDir, PROJECT);
    await cli.ok(["up", "--detach", "--wait"]);
    containerIds = Object.fromEntries((await cli.ps()).map((row) => [row.Service, row.ID]));

    stack = new PulumiStack({ stack: "e2e-interrupt-step" });
    await stack.init();
    await stack.setConfig(
      composeShutdownConfig({
        projectName: PROJECT,
        projectDirectory: projectDir,
        dockerHost: engine.dockerHost,
        composeCli: findComposeBinary(),
        services: { "tines-app": 1, "tines-command-runner": 1, "pypi-server": 1 },
      }),
    );
  });

  afterAll(async () => {
    if (cli) {
      await cli.compose(["down", "--timeout", "0"]);
      cli.remove();
    }
    await engine?.stop();
    if (projectDir) rmSync(projectDir, { recursive: true, force: true });
    if (stack && !process.env.E2E_KEEP) stack.remove();
  });

  /** The startup after a recovered shutdown: every service back to running. */
  async function startUp(message: string): Promise<void> {
    await stack.setConfig({ phase: "running" });
    const startup = await stack.up(message);
    expect(startup.code, log("up (startup)", startup)).toBe(0);
    await expectPhase("running");
  }

  it("SIGINT: the update stops; a rerun finishes the shutdown and startup restarts the same containers", async () => {
    const interrupted = log("up (SIGINT during a service step)", await interruptDuringSlowStep("SIGINT"));
    expect(interrupted).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);

    const rerun = await stack.up("e2e: rerun after SIGINT");
    expect(rerun.code, log("up (rerun after SIGINT)", rerun)).toBe(0);
    await expectPhase("shutdown");

    await startUp("e2e: startup after SIGINT");
  });

  it("SIGKILL: locked; cancel, refresh --clear-pending-creates, rerun; then the same containers start", async () => {
    await stack.setConfig({ phase: "shutdown" });
    log("up (SIGKILL during a service step)", await interruptDuringSlowStep("SIGKILL"));

    const blocked = await stack.up("e2e: rerun without recovery");
    const blockedOutput = log("up (rerun, no recovery)", blocked);
    expect(blocked.code, blockedOutput).not.toBe(0);
    expect(blockedOutput).toMatch(/the stack is currently locked/);

    log("cancel", await stack.run(["cancel", "--yes", "--stack", stack.stack]));
    const refresh = await stack.runScoped(["refresh", "--yes", "--clear-pending-creates"]);
    expect(refresh.code, log("refresh --clear-pending-creates", refresh)).toBe(0);

    const rerun = await stack.up("e2e: rerun after SIGKILL");
    expect(rerun.code, log("up (rerun after SIGKILL)", rerun)).toBe(0);
    await expectPhase("shutdown");

    await startUp("e2e: startup after SIGKILL");
  });
});
