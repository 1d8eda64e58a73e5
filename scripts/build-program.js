/**
 * Compiles the Pulumi program, the policy pack, the `maint` CLI and the demo into bin/ and
 * records the digest of the sources they were compiled from, so that `pulumi up`, `maint` and
 * `npm run demo` load them instead of transpiling (entry/compiledEntry.js). Run by `npm ci` /
 * `npm install` (the `prepare` script), by `npm run build:program` and by `npm run e2e`.
 * Emits without type-checking (tsconfig.pulumi.json `noCheck`): `npm test` type-checks the
 * same files. A build that is current is kept (`--force` rebuilds): bin/ is never rewritten
 * under a `pulumi up` or `maint` that is loading it, e.g. when CI starts a second e2e run.
 */
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { digestPath, isCurrent, sourcesDigest, PROJECT_ROOT } = require("../entry/compiledEntry");

const CONFIG = path.join(PROJECT_ROOT, "tsconfig.pulumi.json");
/** What tsconfig.pulumi.json compiles, as compiledEntry names entries ("index", "cli/maint"). */
const entries = JSON.parse(fs.readFileSync(CONFIG, "utf8")).include.map((file) => file.replace(/\.ts$/, ""));
if (!process.argv.includes("--force") && isCurrent(entries)) {
  console.log("build-program: bin/ is current (compiled from the sources as they are)");
  process.exit(0);
}

let tsc;
try {
  tsc = require.resolve("typescript/bin/tsc", { paths: [PROJECT_ROOT] });
} catch {
  console.log("build-program: TypeScript is not installed; pulumi up will load the sources through ts-node");
  process.exit(0);
}
// The digest of the sources as they are before compiling: an edit during the build makes it stale.
const digest = sourcesDigest();
// Into a fresh directory, swapped in whole: a file whose source was moved or deleted must not
// stay behind in bin/, where Node would still resolve it (lib/config.js before lib/config/).
const out = path.join(PROJECT_ROOT, `bin.build-${process.pid}`);
const old = path.join(PROJECT_ROOT, `bin.old-${process.pid}`);
fs.rmSync(out, { recursive: true, force: true });
const started = Date.now();
const result = spawnSync(process.execPath, [tsc, "-p", CONFIG, "--outDir", out], {
  cwd: PROJECT_ROOT,
  stdio: "inherit",
});
if (result.status !== 0) {
  fs.rmSync(out, { recursive: true, force: true });
  console.error(
    `build-program: tsc exited ${result.status ?? result.signal}; pulumi up will load the sources`,
  );
  process.exit(1);
}
fs.writeFileSync(path.join(out, path.basename(digestPath(PROJECT_ROOT))), `${digest}\n`);
const bin = path.dirname(digestPath(PROJECT_ROOT));
if (fs.existsSync(bin)) fs.renameSync(bin, old);
fs.renameSync(out, bin);
fs.rmSync(old, { recursive: true, force: true });
console.log(
  `build-program: program, policy pack, CLI and demo compiled into bin/ in ${Date.now() - started} ms`,
);
