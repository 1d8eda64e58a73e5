/**
 * Test helper: a directory nobody may write to, not even root: the immutable attribute
 * (`chattr +i`, ext2/3/4, xfs, btrfs). Undefined where the filesystem or the user cannot set
 * it; the test then says why it skipped. `release` clears the attribute so it can be removed.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";

export function makeImmutable(dir: string): { release(): void } | undefined {
  mkdirSync(dir, { recursive: true });
  if (spawnSync("chattr", ["+i", dir]).status !== 0) return undefined;
  return { release: () => void spawnSync("chattr", ["-i", dir]) };
}
