import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pulumiToolDir } from "./goTools";
import { findPulumiBinDir, PROJECT_ROOT, pulumiBinDirCandidates } from "./pulumiCli";

const complete = (dir: string) => (file: string) =>
  path.dirname(file) === dir &&
  ["pulumi", "pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs", "pulumi-analyzer-policy"].includes(
    path.basename(file),
  );

describe("findPulumiBinDir", () => {
  it("prefers PULUMI_BIN_DIR, then the tools cache keyed by the pinned version and the language host's digest, then /opt", () => {
    const digest = spawnSync(
      "bash",
      [path.join(PROJECT_ROOT, "scripts/build-pulumi-cli.sh"), "--language-host-digest"],
      {
        encoding: "utf8",
      },
    ).stdout.trim();
    expect(digest).toMatch(/^[0-9a-f]{12}$/);
    expect(pulumiBinDirCandidates({ PULUMI_BIN_DIR: "/x/bin", TINES_TOOLS_DIR: "/cache" })).toEqual([
      "/x/bin",
      `/cache/pulumi-v3.274.1-nodejs-${digest}/bin`,
      "/opt/pulumi/bin",
    ]);
    expect(pulumiBinDirCandidates({})).toEqual([
      `/var/cache/tines-maintenance/pulumi-v3.274.1-nodejs-${digest}/bin`,
      "/opt/pulumi/bin",
    ]);
    expect(pulumiToolDir({})).toBe(`/var/cache/tines-maintenance/pulumi-v3.274.1-nodejs-${digest}`);
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
