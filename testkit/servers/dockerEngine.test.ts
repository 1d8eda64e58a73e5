import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { pollFor } from "../cliChild";
import { privateTmpdir } from "../testScope";
import { startTestEngine } from "./dockerEngine";

const tmp = privateTmpdir("tines-maint-engine-");

/** PIDs of the processes whose parent is `parent`, with their command names. */
function childrenOf(parent: number): Array<{ pid: number; command: string }> {
  const children: Array<{ pid: number; command: string }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const command = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parent) children.push({ pid: Number(entry), command });
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

describe("the test Docker engine", () => {
  it("leaves nothing in TMPDIR, even after containerd dumped its stacks there", async () => {
    const test = await startTestEngine();
    try {
      expect(test.dockerdPid, "a private dockerd (TEST_DOCKER_HOST unset)").toBeDefined();
      const dockerd = test.dockerdPid!;
      const containerd = childrenOf(dockerd).find((child) => child.command === "containerd");
      expect(containerd, "dockerd starts its own containerd").toBeDefined();
      // On SIGUSR1 containerd writes containerd.<pid>.stacks.log to its TMPDIR: two were found in
      // /tmp after test runs, whatever signalled containerd there.
      process.kill(containerd!.pid, "SIGUSR1");
      const dumped = `containerd.${containerd!.pid}.stacks.log`;
      await pollFor(
        () => readdirSync(test.tmpDir!).includes(dumped) || undefined,
        `${dumped} in the engine's TMPDIR`,
        10_000,
      );
    } finally {
      await test.stop();
    }
    expect(readdirSync(tmp())).toEqual([]);
  }, 60_000);
});
