/**
 * What `pulumi up` loads (main.js for the program, policy/main.js for the policy pack), and what
 * `maint` (cli/main.js, the package's `bin`) and `npm run demo` (demo/main.js) start: the
 * JavaScript `npm run build:program` compiled into bin/ (`npm ci` runs it), when it was
 * compiled from the sources exactly as they are now; otherwise the TypeScript sources, through
 * ts-node transpiling only (what Pulumi does itself with tsconfig.pulumi.json).
 *
 * Why: transpiling the program on every run and type-checking the policy pack on every run
 * (Pulumi's policy runner always type-checks) were most of the fixed cost of a `pulumi up`
 * (bench/README.md); `npm test` type-checks both anyway. A digest of the sources, not their
 * modification times, decides which one loads, so a build can never run code older than the
 * sources: after any edit, checkout or pull, the sources load until the next build.
 * TINES_MAINTENANCE_FROM_SOURCES=1 loads the sources even when the build is current.
 *
 * Plain JavaScript: it runs before anything can load TypeScript.
 */
"use strict";
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const PROJECT_ROOT = path.resolve(__dirname, "..");
/** Where the compiled files and the digest of the sources they came from go. */
const OUT_DIR = "bin";
const DIGEST_FILE = ".sources.sha256";
/**
 * Everything the program, the policy pack, the CLI and the demo compile from (test files
 * excluded). The demo starts its servers with the test kit, so test/ is in it too.
 */
const SOURCE_DIRS = ["lib", "components", "policy", "cli", "demo", "testkit"];
const SOURCE_FILES = ["index.ts", "tsconfig.json", "tsconfig.pulumi.json"];

/** The project-relative paths the digest covers, sorted. */
function sourceFiles(root = PROJECT_ROOT) {
  const found = SOURCE_FILES.filter((file) => fs.existsSync(path.join(root, file)));
  const walk = (dir) => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const relative = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules") walk(relative);
      } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) found.push(relative);
    }
  };
  for (const dir of SOURCE_DIRS) if (fs.existsSync(path.join(root, dir))) walk(dir);
  return found.sort();
}

/** SHA-256 over every source file's path and content. */
function sourcesDigest(root = PROJECT_ROOT) {
  const hash = createHash("sha256");
  for (const file of sourceFiles(root)) {
    hash.update(`${file}\0`);
    hash.update(fs.readFileSync(path.join(root, file)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

function digestPath(root) {
  return path.join(root, OUT_DIR, DIGEST_FILE);
}

/** Whether bin/ holds `entries`, compiled from the sources exactly as they are now. */
function isCurrent(entries, root = PROJECT_ROOT) {
  let recorded;
  try {
    recorded = fs.readFileSync(digestPath(root), "utf8").trim();
  } catch {
    return false;
  }
  return (
    entries.every((entry) => fs.existsSync(path.join(root, OUT_DIR, `${entry}.js`))) &&
    recorded === sourcesDigest(root)
  );
}

/** The compiled `entry` if it is current, else undefined. */
function compiledPath(entry, root) {
  if (process.env.TINES_MAINTENANCE_FROM_SOURCES === "1") return undefined;
  return isCurrent([entry], root) ? path.join(root, OUT_DIR, `${entry}.js`) : undefined;
}

/** Loads `entry` ("index", "policy/index", "cli/maint", "demo/demo") of the project at `root`, compiled when current. */
function load(entry, root = PROJECT_ROOT) {
  const compiled = compiledPath(entry, root);
  if (compiled !== undefined) return require(compiled);
  // The policy runner has registered its own ts-node already; the program's runtime has not.
  if (require.extensions[".ts"] === undefined) {
    let tsNode;
    try {
      tsNode = require("ts-node");
    } catch {
      throw new Error(
        "tines-maintenance: bin/ holds no build of the sources as they are, and ts-node (a development " +
          "dependency) is not installed to load them: run `npm ci` (which builds bin/) or `npm run build:program`",
      );
    }
    tsNode.register({ transpileOnly: true, project: path.join(root, "tsconfig.pulumi.json") });
  }
  return require(path.join(root, `${entry}.ts`));
}

module.exports = { load, isCurrent, sourceFiles, sourcesDigest, digestPath, PROJECT_ROOT };
