/**
 * The endpoint target and the backup directory are checked before the first service stops
 * (issue 20, item 8): each problem one line naming the key to fix, read-only, on real files.
 * Through the window record's provider, serialized and loaded as the Pulumi CLI runs it.
 */
import { mkdtempSync, rmSync, writeFileSync, readFileSync, mkdirSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createSerialized } from "../../testkit/runSerialized";
import { makeImmutable } from "../../testkit/immutable";
import { GATE_TYPES } from "../plan/names";
import { backupDirectoryProblem } from "../database/backupDirectory";
import { checkEndpointTarget } from "./targetCheck";

const dir = mkdtempSync(path.join(os.tmpdir(), "target-check-"));
const releases: Array<() => void> = [];
afterAll(() => {
  releases.forEach((release) => release());
  rmSync(dir, { recursive: true, force: true });
});

const envFile = (project: string) => ({
  target: { kind: "env-file" as const, path: path.join(project, ".env") },
  writes: ["DATABASE_HOST", "REDIS_URL"],
  pathKey: "compose.projectDirectory",
});

describe("the endpoint target, before anything stops", () => {
  it("passes a .env that has both keys, and touches nothing", async () => {
    const project = path.join(dir, "good");
    mkdirSync(project);
    writeFileSync(path.join(project, ".env"), "DATABASE_HOST=db\nREDIS_URL=redis://r:6379/0\n");
    expect(await checkEndpointTarget(envFile(project))).toEqual([]);
    expect(readdirSync(project)).toEqual([".env"]);
  });

  it("names compose.projectDirectory for a missing project directory or .env", async () => {
    const missing = path.join(dir, "nowhere");
    expect(await checkEndpointTarget(envFile(missing))).toEqual([
      `tines-maintenance:compose.projectDirectory: the endpoint switch rewrites ${missing}/.env, but its directory ${missing} does not exist`,
    ]);
    const empty = path.join(dir, "empty");
    mkdirSync(empty);
    expect(await checkEndpointTarget(envFile(empty))).toEqual([
      `tines-maintenance:compose.projectDirectory: the endpoint switch rewrites ${empty}/.env, but there is no such file`,
    ]);
  });

  it("names a key the file does not set", async () => {
    const project = path.join(dir, "nokey");
    mkdirSync(project);
    writeFileSync(path.join(project, ".env"), "DATABASE_HOST=db\n");
    expect(await checkEndpointTarget(envFile(project))).toEqual([
      `tines-maintenance:compose.projectDirectory: the endpoint switch rewrites ${project}/.env, but it sets no REDIS_URL (check endpoints.keys and the file)`,
    ]);
  });

  it("names a directory the switch cannot write its new file into (immutable)", async (context) => {
    const project = path.join(dir, "frozen");
    mkdirSync(project);
    writeFileSync(path.join(project, ".env"), "DATABASE_HOST=db\nREDIS_URL=redis://r:6379/0\n");
    const frozen = makeImmutable(project);
    if (!frozen) return context.skip("chattr +i is not available here");
    releases.push(frozen.release);
    expect(await checkEndpointTarget(envFile(project))).toEqual([
      `tines-maintenance:compose.projectDirectory: the endpoint switch rewrites ${project}/.env, but its directory ${project} is not writable (EPERM: operation not permitted)`,
    ]);
  });
});

describe("the backup directory, before anything stops", () => {
  it("accepts a writable directory, and one that can be created", () => {
    expect(backupDirectoryProblem(dir)).toBeUndefined();
    expect(backupDirectoryProblem(path.join(dir, "new", "deeper"))).toBeUndefined();
  });

  it("names database.backup.directory under a regular file, and in an immutable directory", (context) => {
    const file = path.join(dir, "a-file");
    writeFileSync(file, "x");
    expect(backupDirectoryProblem(path.join(file, "backups"))).toBe(
      `tines-maintenance:database.backup.directory: the backup cannot be written to ${file}/backups: ${file} is not a directory`,
    );
    const frozen = path.join(dir, "frozen-backups");
    const immutable = makeImmutable(frozen);
    if (!immutable) return context.skip("chattr +i is not available here");
    releases.push(immutable.release);
    expect(backupDirectoryProblem(frozen)).toBe(
      `tines-maintenance:database.backup.directory: the backup cannot be written to ${frozen} (EPERM: not writable, e.g. an immutable directory)`,
    );
  });
});

describe("the window record refuses them, serialized as the Pulumi CLI runs it", () => {
  it("refuses a missing .env and a backup directory under a file in one line, before recording anything", async () => {
    const missing = path.join(dir, "gone");
    const file = path.join(dir, "plain-file");
    writeFileSync(file, "x");
    const run = await createSerialized(GATE_TYPES["maintenance-window"].resources.record, {
      phase: "shutdown",
      allowVersionChange: false,
      source: { platform: "ecs", cluster: "unused" },
      workloads: {},
      settings: {},
      checks: { endpointTarget: envFile(missing), backupDirectory: path.join(file, "dumps") },
    });
    expect(run.ok).toBe(false);
    const message = run.ok ? "" : run.stderr.trim();
    expect(message).toBe(
      `maintenance-window: refused, nothing was changed: tines-maintenance:compose.projectDirectory: the endpoint switch rewrites ${missing}/.env, but its directory ${missing} does not exist; ` +
        `tines-maintenance:database.backup.directory: the backup cannot be written to ${file}/dumps: ${file} is not a directory`,
    );
    expect(readFileSync(file, "utf8")).toBe("x");
  });
});
