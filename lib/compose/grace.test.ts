import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { composeFiles, parseComposeDuration, sidekiqGraceWarning, stopGracePeriod } from "./grace";

const dirs: string[] = [];
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tines-maint-compose-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

const sidekiq = (grace?: string) =>
  `services:\n  tines-sidekiq:\n    image: tines/tines-app\n    command: start-tines-sidekiq\n${grace ? `    stop_grace_period: ${grace}\n` : ""}`;

describe("parseComposeDuration", () => {
  it.each([
    ["30s", 30],
    ["1m30s", 90],
    ["1h", 3600],
    ["1500ms", 1.5],
    ["45", 45],
    [45, 45],
  ] as const)("%s -> %s s", (input, seconds) => {
    expect(parseComposeDuration(input)).toBe(seconds);
  });
  it.each(["thirty", "30 s", "30x", "", "-5s"])("%s is unreadable", (input) => {
    expect(parseComposeDuration(input)).toBeUndefined();
  });
});

describe("sidekiqGraceWarning", () => {
  it("warns about the 10 s Compose default when stop_grace_period is not set", () => {
    const dir = project({ "docker-compose.yml": sidekiq() });
    expect(sidekiqGraceWarning(dir, "tines-sidekiq")).toBe(
      "tines-sidekiq: stop_grace_period is 10s (Compose default; stop_grace_period not set for tines-sidekiq); " +
        "Sidekiq needs its 25s shutdown timeout plus a margin, so `docker compose stop` would kill in-flight jobs: " +
        "set stop_grace_period: 30s or more",
    );
  });

  it("warns when the grace period is shorter than Sidekiq's timeout plus the margin", () => {
    const dir = project({ "compose.yaml": sidekiq("25s") });
    expect(sidekiqGraceWarning(dir, "tines-sidekiq")).toMatch(
      /^tines-sidekiq: stop_grace_period is 25s \(compose.yaml\)/,
    );
  });

  it("is silent when the grace period is long enough", () => {
    expect(sidekiqGraceWarning(project({ "compose.yaml": sidekiq("1m") }), "tines-sidekiq")).toBeUndefined();
    expect(
      sidekiqGraceWarning(project({ "docker-compose.yml": sidekiq("30s") }), "tines-sidekiq"),
    ).toBeUndefined();
  });

  it("lets the override file win, as docker compose merges it", () => {
    const dir = project({
      "docker-compose.yml": sidekiq("10s"),
      "docker-compose.override.yml": sidekiq("40s"),
    });
    expect(composeFiles(dir).map((f) => path.basename(f))).toEqual([
      "docker-compose.yml",
      "docker-compose.override.yml",
    ]);
    expect(stopGracePeriod(composeFiles(dir), "tines-sidekiq")).toEqual({
      seconds: 40,
      source: "docker-compose.override.yml",
    });
    expect(sidekiqGraceWarning(dir, "tines-sidekiq")).toBeUndefined();
  });

  it("prefers compose.yaml over docker-compose.yml, as docker compose does", () => {
    const dir = project({ "compose.yaml": sidekiq("60s"), "docker-compose.yml": sidekiq("5s") });
    expect(sidekiqGraceWarning(dir, "tines-sidekiq")).toBeUndefined();
  });

  it("says when it cannot check", () => {
    expect(sidekiqGraceWarning(project({}), "tines-sidekiq")).toMatch(
      /no compose file found .* cannot check stop_grace_period of tines-sidekiq \(needs >= 30s\)/,
    );
    expect(sidekiqGraceWarning(project({ "compose.yaml": sidekiq("soon") }), "tines-sidekiq")).toBe(
      'tines-sidekiq: stop_grace_period "soon" in compose.yaml is not a duration Compose accepts; it must be >= 30s',
    );
    expect(sidekiqGraceWarning(project({ "compose.yaml": "services: [unclosed" }), "tines-sidekiq")).toMatch(
      /^cannot read /,
    );
  });
});
