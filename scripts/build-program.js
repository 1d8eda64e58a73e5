/**
 * Compiles the Pulumi program and the policy pack into bin/ and records the digest of the
 * sources they were compiled from, so that `pulumi up` loads them instead of transpiling
 * (entry/compiledEntry.js). Run by `npm ci` / `npm install` (the `prepare` script) and by
 * `npm run build:program`. Emits without type-checking (tsconfig.pulumi.json `noCheck`):
 * `npm test` type-checks the same files.
 */
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { digestPath, sourcesDigest, PROJECT_ROOT } = require("../entry/compiledEntry");

let tsc;
try {
  tsc = require.resolve("typescript/bin/tsc", { paths: [PROJECT_ROOT] });
} catch {
  console.log("build-program: TypeScript is not installed; pulumi up will load the sources through ts-node");
  process.exit(0);
}
// The digest of the sources as they are before compiling: an edit during the build makes it stale.
const digest = sourcesDigest();
fs.rmSync(digestPath(PROJECT_ROOT), { force: true });
const started = Date.now();
const result = spawnSync(process.execPath, [tsc, "-p", path.join(PROJECT_ROOT, "tsconfig.pulumi.json")], {
  cwd: PROJECT_ROOT,
  stdio: "inherit",
});
if (result.status !== 0) {
  console.error(
    `build-program: tsc exited ${result.status ?? result.signal}; pulumi up will load the sources`,
  );
  process.exit(1);
}
fs.writeFileSync(digestPath(PROJECT_ROOT), `${digest}\n`);
console.log(`build-program: program and policy pack compiled into bin/ in ${Date.now() - started} ms`);
