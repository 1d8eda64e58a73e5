/**
 * Test helper: a real, tiny filesystem (tmpfs) to run out of space on. Mounting needs root
 * (the CI container runs as root); elsewhere `mountTinyTmpfs` returns undefined and the
 * test says why it skipped.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface TinyFs {
  dir: string;
  unmount(): void;
}

export function mountTinyTmpfs(parent = os.tmpdir(), sizeKiB = 1024): TinyFs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const dir = mkdtempSync(path.join(parent, "tines-tinyfs-"));
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${sizeKiB}k,mode=1777`, "tmpfs", dir]);
  if (mounted.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    unmount() {
      spawnSync("umount", [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
