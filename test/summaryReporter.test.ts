import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../testkit/projectRoot";
import { privateTmpdir } from "../testkit/testScope";

const run = promisify(execFile);
const tmp = privateTmpdir("tines-maint-reporter-");

describe("summary reporter", () => {
  it("names each failed test with its file and error before the closing line", async () => {
    writeFileSync(
      path.join(tmp(), "sample.test.js"),
      [
        'it("passes", () => {});',
        'describe("a group", () => { it("fails", () => { throw new Error("first line\\nsecond line"); }); });',
        'describe("a set-up", () => { beforeAll(() => { throw new Error("hook failed"); }); it("never runs", () => {}); });',
        "",
      ].join("\n"),
    );
    const vitest = path.join(PROJECT_ROOT, "node_modules/.bin/vitest");
    const outcome = await run(
      vitest,
      ["run", "--root", tmp(), "--globals", "--reporter", path.join(PROJECT_ROOT, "test/summaryReporter.ts")],
      { cwd: tmp(), timeout: 60_000, env: { ...process.env, CI: "1" } },
    ).then(
      () => ({ stdout: "", exitedZero: true }),
      (error: { stdout: string }) => ({ stdout: error.stdout, exitedZero: false }),
    );

    expect(outcome.exitedZero).toBe(false);
    const lines = outcome.stdout.trim().split("\n");
    expect(lines.slice(-3)).toEqual([
      "vitest: failed: sample.test.js > a group > fails: first line",
      "vitest: failed: sample.test.js > a set-up: hook failed",
      "vitest: 1 passed, 2 failed, 1 skipped",
    ]);
  });
});
