import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SECRET_PLACEHOLDER } from "./core";
import { ConfigError } from "../errors";
import { projectConfigDefaults, rawConfigFromStackFile, readStackFile, stackFileName } from "./stackFile";

const dirs: string[] = [];
function project(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stackfile-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const PROJECT = "name: tines-maintenance\nruntime: nodejs\n";

describe("rawConfigFromStackFile", () => {
  it("reads scalars as Pulumi passes them to the program, structured values as they are", () => {
    const raw = rawConfigFromStackFile(
      [
        "config:",
        "  aws:region: eu-west-1",
        "  tines-maintenance:phase: shutdown",
        '  tines-maintenance:stepTimeoutSeconds: "1200"',
        "  tines-maintenance:services:",
        "    tines-app: 3",
        "    postgres: {count: 1, kind: StatefulSet}",
        "  tines-maintenance:keepRunning:",
        "    - postgres",
      ].join("\n"),
    );
    expect(raw).toEqual({
      phase: "shutdown",
      stepTimeoutSeconds: 1200,
      services: { "tines-app": 3, postgres: { count: 1, kind: "StatefulSet" } },
      keepRunning: ["postgres"],
    });
  });

  it("replaces encrypted values with the placeholder at any depth and never keeps the ciphertext", () => {
    const raw = rawConfigFromStackFile(
      [
        "config:",
        "  tines-maintenance:redisUrl:",
        "    secure: v1:AAAAciphertext",
        "  tines-maintenance:sidekiq:",
        "    redisUrl:",
        "      secure: v1:BBBBciphertext",
        "    windowSeconds: 120",
        "  tines-maintenance:list:",
        "    - secure: v1:CCCC",
      ].join("\n"),
    );
    expect(raw).toEqual({
      redisUrl: SECRET_PLACEHOLDER,
      sidekiq: { redisUrl: SECRET_PLACEHOLDER, windowSeconds: 120 },
      list: [SECRET_PLACEHOLDER],
    });
    expect(JSON.stringify(raw)).not.toMatch(/ciphertext|v1:/);
  });

  it("keeps a dotted key (set without --path) so that validation can name it", () => {
    expect(rawConfigFromStackFile("config:\n  tines-maintenance:services.nginx: 1\n")).toEqual({
      "services.nginx": 1,
    });
  });

  it("accepts an empty file and a file without config", () => {
    expect(rawConfigFromStackFile("")).toEqual({});
    expect(rawConfigFromStackFile("encryptionsalt: v1:abc\n")).toEqual({});
  });

  it("refuses YAML that is not a stack file, naming the file", () => {
    expect(() => rawConfigFromStackFile("config: [1, 2]\n", "Pulumi.dev.yaml")).toThrow(
      /^Pulumi\.dev\.yaml: "config:" must be a map/,
    );
    expect(() => rawConfigFromStackFile("config:\n  phase: running\n", "Pulumi.dev.yaml")).toThrow(
      /config key "phase" must be of the form <namespace>:<name>/,
    );
    expect(() => rawConfigFromStackFile("config:\n  a: [\n", "Pulumi.dev.yaml")).toThrow(
      /^Pulumi\.dev\.yaml: not valid YAML/,
    );
  });
});

describe("projectConfigDefaults", () => {
  it("takes defaults from short and declared forms, with or without the namespace", () => {
    const defaults = projectConfigDefaults(
      [
        PROJECT,
        "config:",
        "  stepTimeoutSeconds: 600",
        "  tines-maintenance:platform:",
        "    type: string",
        "    default: ecs",
        "  kubernetes:",
        "    description: no default here",
        "  aws:region: us-east-1",
      ].join("\n"),
    );
    expect(defaults).toEqual({ stepTimeoutSeconds: 600, platform: "ecs" });
  });
});

describe("stackFileName", () => {
  it("uses the last segment of a qualified stack name", () => {
    expect(stackFileName("acme/tines-maintenance/prod")).toBe("prod");
    expect(stackFileName("acme/prod")).toBe("prod");
  });
  it("refuses characters Pulumi does not allow in a stack name", () => {
    expect(() => stackFileName("a b")).toThrow(ConfigError);
    expect(() => stackFileName("org/")).toThrow(/--stack "org\/"/);
  });
});

describe("readStackFile", () => {
  it("picks the only stack file when no stack is named", () => {
    const dir = project({
      "Pulumi.yaml": PROJECT,
      "Pulumi.prod.yaml": "config:\n  tines-maintenance:phase: running\n",
    });
    const result = readStackFile({ projectDir: dir, env: {} });
    expect(result.stack).toBe("prod");
    expect(result.file).toBe(path.join(dir, "Pulumi.prod.yaml"));
    expect(result.raw).toEqual({ phase: "running" });
  });

  it("prefers --stack, then PULUMI_STACK", () => {
    const dir = project({
      "Pulumi.yaml": PROJECT,
      "Pulumi.a.yaml": "config:\n  tines-maintenance:phase: running\n",
      "Pulumi.b.yaml": "config:\n  tines-maintenance:phase: shutdown\n",
    });
    expect(readStackFile({ projectDir: dir, env: { PULUMI_STACK: "b" } }).raw.phase).toBe("shutdown");
    expect(readStackFile({ projectDir: dir, stack: "org/a", env: { PULUMI_STACK: "b" } }).raw.phase).toBe(
      "running",
    );
  });

  it("lists the stack files found when the choice is ambiguous or the stack is missing", () => {
    const dir = project({ "Pulumi.yaml": PROJECT, "Pulumi.a.yaml": "", "Pulumi.b.yml": "" });
    expect(() => readStackFile({ projectDir: dir, env: {} })).toThrow(
      /--stack is required: more than one Pulumi.<stack>.yaml in .*; stacks found: a, b$/,
    );
    expect(() => readStackFile({ projectDir: dir, stack: "c", env: {} })).toThrow(
      /^--stack c: no Pulumi.c.yaml in .*; stacks found: a, b$/,
    );
    expect(readStackFile({ projectDir: dir, stack: "b", env: {} }).file).toBe(path.join(dir, "Pulumi.b.yml"));
  });

  it("says when there is no project or no stack at all", () => {
    const empty = project({});
    expect(() => readStackFile({ projectDir: empty, env: {} })).toThrow(
      /^no Pulumi.yaml in .*pass --project-dir DIR$/,
    );
    const bare = project({ "Pulumi.yaml": PROJECT });
    expect(() => readStackFile({ projectDir: bare, env: {} })).toThrow(
      /no Pulumi.<stack>.yaml .*stacks found: \(none\)$/,
    );
  });

  it("honours stackConfigDir and applies project defaults under the stack's values", () => {
    const dir = project({
      "Pulumi.yaml": `${PROJECT}stackConfigDir: stacks\nconfig:\n  stepTimeoutSeconds: 600\n  platform: ecs\n`,
      "stacks/Pulumi.prod.yaml": "config:\n  tines-maintenance:platform: kubernetes\n",
    });
    expect(readStackFile({ projectDir: dir, env: {} }).raw).toEqual({
      stepTimeoutSeconds: 600,
      platform: "kubernetes",
    });
  });
});
