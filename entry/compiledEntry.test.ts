/**
 * The entry loads the compiled program only while it is current: any change to a source
 * (by content, whatever its modification time) loads the sources until the next build.
 * Run in a child `node`, as Pulumi's language host runs it.
 */
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const ENTRY = path.resolve(__dirname, "compiledEntry.js");
let root: string;

function node(script: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(process.execPath, ["-e", script], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TINES_MAINTENANCE_FROM_SOURCES: "", ...env },
  });
}
const loaded = (env?: NodeJS.ProcessEnv) =>
  node(
    `process.stdout.write(require(${JSON.stringify(ENTRY)}).load("index", ${JSON.stringify(root)}).from)`,
    env,
  );
const recordDigest = () =>
  node(
    `const e = require(${JSON.stringify(ENTRY)}); require("fs").writeFileSync(e.digestPath(${JSON.stringify(root)}), e.sourcesDigest(${JSON.stringify(root)}))`,
  );
const write = (file: string, text: string) => {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), text);
};

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "compiled-entry-"));
  write(
    "tsconfig.json",
    JSON.stringify({ compilerOptions: { module: "commonjs", target: "ES2022", strict: true } }),
  );
  write("tsconfig.pulumi.json", JSON.stringify({ extends: "./tsconfig.json" }));
  write("lib/answer.ts", "export const answer: number = 42;\n");
  write(
    "index.ts",
    'import { answer } from "./lib/answer";\nexport const from: string = `sources ${answer}`;\n',
  );
  write("bin/index.js", 'exports.from = "compiled";\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("compiled entry", () => {
  it("loads the sources through ts-node when nothing was built", () => {
    expect(loaded()).toBe("sources 42");
  });

  it("loads the build while the sources are what it was built from", () => {
    recordDigest();
    expect(loaded()).toBe("compiled");
    write("lib/answer.test.ts", "export {};\n");
    expect(loaded()).toBe("compiled");
  });

  it("loads the sources after any change to one, until the next build", () => {
    recordDigest();
    write("lib/answer.ts", "export const answer: number = 43;\n");
    expect(loaded()).toBe("sources 43");
    write("lib/answer.ts", "export const answer: number = 42;\n");
    expect(loaded()).toBe("compiled");
    write("lib/new.ts", "export {};\n");
    expect(loaded()).toBe("sources 42");
    recordDigest();
    expect(loaded()).toBe("compiled");
  });

  it("names the fix when there is neither a current build nor ts-node", () => {
    // A copy of the entry outside the project resolves no ts-node, as after `npm ci --omit=dev`.
    write("entry/compiledEntry.js", readFileSync(ENTRY, "utf8"));
    const script = `require(${JSON.stringify(path.join(root, "entry", "compiledEntry.js"))}).load("index")`;
    expect(() => node(script)).toThrow(/no build of the sources as they are.*run `npm ci`/s);
  });

  it("digests every project file the program, the policy pack, the CLI and the demo compile from", () => {
    // A file outside the digest (an import from cli/, say) could change without the stale build noticing.
    const project = path.resolve(__dirname, "..");
    const compiled = execFileSync(
      process.execPath,
      [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.pulumi.json", "--listFilesOnly"],
      { cwd: project, encoding: "utf8" },
    )
      .split("\n")
      .filter((file) => file !== "" && !file.includes("/node_modules/"))
      .map((file) => path.relative(project, file));
    const digested: string[] = JSON.parse(
      node(`process.stdout.write(JSON.stringify(require(${JSON.stringify(ENTRY)}).sourceFiles()))`),
    );
    expect(compiled.length).toBeGreaterThan(50);
    expect(compiled.filter((file) => !digested.includes(file))).toEqual([]);
  });

  it("leaves nothing in bin/ that the sources no longer compile to (npm ci builds it)", () => {
    // Node resolves a stale lib/config.js before the lib/config/ that replaced it.
    const project = path.resolve(__dirname, "..");
    const bin = path.join(project, "bin");
    const stale = (readdirSync(bin, { recursive: true }) as string[])
      .filter((file) => file.endsWith(".js"))
      .filter((file) => !existsSync(path.join(project, file.replace(/\.js$/, ".ts"))));
    expect(stale).toEqual([]);
  });

  it("loads the sources when asked to, build or not", () => {
    recordDigest();
    expect(loaded({ TINES_MAINTENANCE_FROM_SOURCES: "1" })).toBe("sources 42");
  });
});
