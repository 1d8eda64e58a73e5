import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT, findPulumiBinDir, pulumiBinDirCandidates } from "./pulumiCli";

const complete = (dir: string) => (file: string) =>
  path.dirname(file) === dir &&
  ["pulumi", "pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"].includes(path.basename(file));

describe("findPulumiBinDir", () => {
  it("prefers PULUMI_BIN_DIR, then the machine-wide build, then the repo-local one", () => {
    expect(pulumiBinDirCandidates({ PULUMI_BIN_DIR: "/x/bin" })).toEqual([
      "/x/bin",
      "/opt/pulumi/bin",
      path.join(PROJECT_ROOT, ".tools", "pulumi", "bin"),
    ]);
    expect(pulumiBinDirCandidates({})).toEqual([
      "/opt/pulumi/bin",
      path.join(PROJECT_ROOT, ".tools/pulumi/bin"),
    ]);
  });

  it("skips a directory that has the CLI but not the language host", () => {
    const exists = (file: string) => file === "/a/pulumi" || complete("/b")(file);
    expect(findPulumiBinDir(["/a", "/b"], exists)).toBe("/b");
  });

  it("fails loudly with the build command when no candidate is complete", () => {
    expect(() => findPulumiBinDir(["/a", "/b"], () => false)).toThrow(
      "e2e: no Pulumi CLI found (needs pulumi, pulumi-language-nodejs, pulumi-resource-pulumi-nodejs) in /a, /b; " +
        "build one with `bash scripts/build-pulumi-cli.sh` (about 15 min cold) or set PULUMI_BIN_DIR",
    );
  });
});
