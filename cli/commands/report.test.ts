import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../maint";

/** `maint report ...` as the operator runs it: exit code and what it printed. */
async function maint(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
  const code = await main(["report", ...args]);
  return { code, stdout, stderr };
}

describe("maint report refuses bad input with one line", () => {
  afterEach(() => vi.restoreAllMocks());

  it.each([
    [[], "maint report: --stack is required\n"],
    [["--stack", "prod", "--window", "two"], 'maint report: --window must be an integer >= 1, got "two"\n'],
    [["--stack", "prod", "--out", " "], "maint report: --out must name a file\n"],
  ])("%j", async (args, message) => {
    expect(await maint(args)).toEqual({ code: 1, stdout: "", stderr: message });
  });

  it("names the missing Pulumi CLI instead of failing with a stack trace", async () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      expect(await maint(["--stack", "prod"])).toEqual({
        code: 1,
        stdout: "",
        stderr: "maint report: the Pulumi CLI (pulumi) is not on PATH\n",
      });
    } finally {
      process.env.PATH = path;
    }
  });
});
