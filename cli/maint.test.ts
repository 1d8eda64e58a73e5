/**
 * `maint <command> --help` answers with the command's usage on stdout and exit 0 (issue 20,
 * item 9: it answered "Unknown option '--help'" and exit 1), for every command; as an
 * operator runs it, a child process through tsx.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { commands } from "./commands";

const root = path.resolve(__dirname, "..");

function maint(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      ["--import", "tsx", "cli/maint.ts", ...args],
      { cwd: root, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe("maint --help", () => {
  it.each(commands.map((c) => [c.name, c.usage]))(
    "`maint %s --help` prints its usage and exits 0",
    async (name, usage) => {
      const run = await maint([name, "--help"]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe(`usage: maint ${usage}\n`);
      expect(run.stderr).toBe("");
    },
  );

  it("`maint --help` lists every command and exits 0; an unknown command still exits 2", async () => {
    const help = await maint(["--help"]);
    expect(help.code).toBe(0);
    for (const command of commands) expect(help.stdout).toContain(`  ${command.usage}\n`);
    const short = await maint(["queue", "--redis-url", "redis://127.0.0.1:1/0", "-h"]);
    expect(short).toMatchObject({
      code: 0,
      stdout: `usage: maint ${commands.find((c) => c.name === "queue")!.usage}\n`,
    });
    const unknown = await maint(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^maint: unknown command "frobnicate"; allowed: /);
  });
});
