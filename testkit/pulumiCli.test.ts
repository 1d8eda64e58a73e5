import path from "node:path";
import { describe, expect, it } from "vitest";
import { findPulumiBinDir, pulumiBinDirCandidates } from "./pulumiCli";

const complete = (dir: string) => (file: string) =>
  path.dirname(file) === dir &&
  ["pulumi", "pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs", "pulumi-analyzer-policy"].includes(
    path.basename(file),
  );

describe("findPulumiBinDir", () => {
  it("prefers PULUMI_BIN_DIR, then the machine-wide tools cache keyed by the pinned version, then /opt", () => {
    expect(pulumiBinDirCandidates({ PULUMI_BIN_DIR: "/x/bin", TINES_TOOLS_DIR: "/cache" })).toEqual([
      "/x/bin",
      "/cache/pulumi-v3.274.1/bin",
      "/opt/pulumi/bin",
    ]);
    expect(pulumiBinDirCandidates({})).toEqual([
      "/var/cache/tines-maintenance/pulumi-v3.274.1/bin",
      "/opt/pulumi/bin",
    ]);
  });

  it("skips a directory that has the CLI but not the language host", () => {
    const exists = (file: string) => file === "/a/pulumi" || complete("/b")(file);
    expect(findPulumiBinDir(["/a", "/b"], exists)).toBe("/b");
  });

  it("fails loudly with the build command when no candidate is complete", () => {
    expect(() => findPulumiBinDir(["/a", "/b"], () => false)).toThrow(
      "e2e: no Pulumi CLI found (needs pulumi, pulumi-language-nodejs, pulumi-resource-pulumi-nodejs, pulumi-analyzer-policy) in /a, /b; " +
        "build one with `bash scripts/build-go-tools.sh pulumi` (about 15 min cold) or set PULUMI_BIN_DIR",
    );
  });
});
