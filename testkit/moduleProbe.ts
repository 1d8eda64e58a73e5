/**
 * Which modules a child node process loaded: a preload, passed in NODE_OPTIONS (so every node
 * process npm or npx starts carries it), writes each process's script and loaded modules on exit.
 * Used to prove that `maint` and the demo start from bin/ without a TypeScript loader.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface LoadedModules {
  /** process.argv[1] of the process. */
  script: string;
  /** Whether anything registered a loader for .ts files (ts-node, tsx). */
  tsExtension: boolean;
  modules: string[];
}

const TS_LOADER = /[\\/]node_modules[\\/](ts-node|tsx|typescript|esbuild)[\\/]/;

/** The modules of `loaded` that mean TypeScript was transpiled in that process. */
export function typeScriptModules(loaded: LoadedModules): string[] {
  return loaded.modules.filter((m) => TS_LOADER.test(m) || m.endsWith(".ts"));
}

export interface ModuleProbe {
  /** NODE_OPTIONS for the child (any NODE_OPTIONS of this process kept). */
  nodeOptions: string;
  /** The processes that exited since the last call whose script is `script` (a path, or a basename). */
  take(script: string): LoadedModules[];
  remove(): void;
}

export function createModuleProbe(): ModuleProbe {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tines-maint-probe-"));
  const preload = path.join(dir, "probe.js");
  writeFileSync(
    preload,
    `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(dir)} + "/loaded-" + process.pid + ".json",
      JSON.stringify({ script: process.argv[1] || "", tsExtension: require.extensions[".ts"] !== undefined,
        modules: Object.keys(require.cache) })));\n`,
  );
  return {
    nodeOptions: [process.env.NODE_OPTIONS, `--require ${preload}`].filter(Boolean).join(" "),
    take(script) {
      const files = readdirSync(dir).filter((file) => file.startsWith("loaded-"));
      const runs = files.map(
        (file) => JSON.parse(readFileSync(path.join(dir, file), "utf8")) as LoadedModules,
      );
      for (const file of files) rmSync(path.join(dir, file));
      return runs.filter(
        (run) => (path.isAbsolute(script) ? run.script : path.basename(run.script)) === script,
      );
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
