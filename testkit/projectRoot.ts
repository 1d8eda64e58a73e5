/**
 * The project root, found from this file upwards: the test kit runs from its sources
 * (testkit/) and, for the compiled demo, from its build (bin/testkit/), one level deeper.
 */
import { existsSync } from "node:fs";
import path from "node:path";

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "Pulumi.yaml")) && existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no project root (Pulumi.yaml) above ${from}`);
  }
}

export const PROJECT_ROOT = findRoot(__dirname);

/** A file of the test kit's sources (fixtures, Ruby and server scripts), also from bin/. */
export const testkitPath = (...parts: string[]) => path.join(PROJECT_ROOT, "testkit", ...parts);
