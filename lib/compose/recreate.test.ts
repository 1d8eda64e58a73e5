/**
 * The startup's re-creation of containers whose config changed, against a private dockerd and
 * a project made by the real Docker Compose v2 CLI (testkit/compose.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ComposeCli, findComposeBinary, writeTinesProject } from "../../testkit/compose";
import { scaleComposeService } from "./scale";
import { startTestEngine, type TestEngine } from "../../testkit/servers/dockerEngine";
import { recordingReporter } from "../../testkit/recordingReporter";

const PROJECT = "tines-recreate";
const SERVICE = "postgres";

describe("a startup re-creates only the containers whose config changed (real docker compose)", () => {
  let test: TestEngine;
  let cli: ComposeCli;
  let dir: string;
  const envOf = async (id: string) =>
    (await cli.docker(["exec", id, "sh", "-c", 'echo "$DATABASE_HOST"'])).stdout.trim();
  const idOf = async () => (await cli.ps()).find((r) => r.Service === SERVICE)!.ID;
  const step = (count: number) => ({
    project: PROJECT,
    service: SERVICE,
    count,
    timeoutSeconds: 30,
    pollSeconds: 0.2,
    compose: { dockerHost: test.dockerHost, projectDirectory: dir, cli: findComposeBinary() },
  });

  beforeAll(async () => {
    test = await startTestEngine();
    dir = mkdtempSync(path.join(os.tmpdir(), "tines-maint-recreate-"));
    writeTinesProject(dir, {
      graces: {},
      ignoreTerm: [],
      volumes: { [SERVICE]: ["/data"] },
      env: { DATABASE_HOST: "old-db.internal", REDIS_URL: "redis://old:6379/0" },
    });
    cli = new ComposeCli(test.dockerHost, dir, PROJECT);
    await cli.ok(["up", "--detach", "--wait", SERVICE]);
    await cli.ok(["exec", "-T", SERVICE, "sh", "-c", "echo rows > /data/marker"]);
  }, 180_000);

  afterAll(async () => {
    await cli?.compose(["down", "--timeout", "0"]);
    cli?.remove();
    await test?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("without a change: the same container starts again, and the compose CLI only reads", async () => {
    const before = await idOf();
    await scaleComposeService(test.engine, step(0), recordingReporter());
    const reporter = recordingReporter();
    const result = await scaleComposeService(test.engine, step(1), reporter);
    expect(result).toMatchObject({ reachedCount: 1, recreated: 0 });
    expect(await idOf()).toBe(before);
    expect(reporter.lines.join("\n")).not.toMatch(/re-created/);
  });

  it("after .env changed: re-created with the new value, volume kept, started and waited for", async () => {
    const before = await idOf();
    await scaleComposeService(test.engine, step(0), recordingReporter());
    const env = path.join(dir, ".env");
    writeFileSync(env, readFileSync(env, "utf8").replace("old-db.internal", "new-db.internal"));

    const reporter = recordingReporter();
    const result = await scaleComposeService(test.engine, step(1), reporter);
    expect(result).toMatchObject({ previousCount: 0, reachedCount: 1, containers: 1, recreated: 1 });
    expect(reporter.lines.join("\n")).toMatch(/re-created 1 container\(s\)/);
    const after = await idOf();
    expect(after).not.toBe(before);
    expect((await cli.ps()).map((r) => [r.Service, r.State])).toEqual([[SERVICE, "running"]]);
    expect(await envOf(after)).toBe("new-db.internal");
    const marker = await cli.docker(["exec", after, "sh", "-c", "cat /data/marker"]);
    expect(marker).toMatchObject({ code: 0, stdout: "rows\n" });
  });

  it("a shutdown never calls the compose CLI: a missing one does not matter there", async () => {
    const result = await scaleComposeService(
      test.engine,
      { ...step(0), compose: { ...step(0).compose, cli: "/nonexistent/docker-compose" } },
      recordingReporter(),
    );
    expect(result.reachedCount).toBe(0);
  });

  it("a startup with a missing compose CLI fails with one line naming compose.cli, and starts nothing", async () => {
    await expect(
      scaleComposeService(
        test.engine,
        { ...step(1), compose: { ...step(1).compose, cli: "/nonexistent/docker-compose" } },
        recordingReporter(),
      ),
    ).rejects.toThrow(/Compose CLI not found.*compose\.cli/);
    expect((await cli.ps()).map((r) => r.State)).toEqual(["exited"]);
  });
});
