import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { ConfigError, MaintenanceError } from "../../lib/errors";
import { renderWindowHtml } from "../../lib/report/html";
import {
  numberHistory,
  parseDeployment,
  selectWindow,
  updateView,
  windowView,
  type Deployment,
  type HistoryEntry,
} from "../../lib/report/window";
import { optionalNumberFlag, parseFlags, requiredFlag, valueFlags, type CliCommand } from "../command";

const USAGE = "report --stack NAME [--out FILE] [--window VERSION]";
const PROJECT = "tines-maintenance";

export interface PulumiResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the Pulumi CLI; tests pass one bound to their own PULUMI_HOME and backend. */
export type PulumiRunner = (args: string[]) => Promise<PulumiResult>;

/** The operator's `pulumi` from PATH, with the environment as it is (backend, passphrase). */
export const pulumiFromPath: PulumiRunner = (args) =>
  new Promise((resolve, reject) => {
    const child = spawn("pulumi", [...args, "--non-interactive", "--color", "never"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "ENOENT" ? new MaintenanceError("the Pulumi CLI (pulumi) is not on PATH") : error,
      ),
    );
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });

async function pulumiJson(run: PulumiRunner, args: string[]): Promise<unknown> {
  const result = await run(args);
  if (result.code !== 0) {
    const reason = result.stderr.trim().split("\n").pop() ?? `exit ${result.code}`;
    throw new MaintenanceError(`pulumi ${args.slice(0, 2).join(" ")} failed: ${reason}`);
  }
  return JSON.parse(result.stdout);
}

/**
 * A file backend keeps each update's checkpoint beside its history entry; the entry of this
 * update is the one with its start time (whole seconds) and message.
 */
function fileBackendCheckpoint(backendUrl: string, stack: string, update: HistoryEntry): unknown {
  const root = fileURLToPath(backendUrl);
  const name = stack.split("/").pop() as string;
  const startSeconds = Math.floor(Date.parse(update.startTime) / 1000);
  const dirs = [
    path.join(root, ".pulumi", "history", PROJECT, name),
    path.join(root, ".pulumi", "history", name),
  ].filter((d) => existsSync(d));
  const read = (file: string) => {
    const bytes = readFileSync(file);
    return JSON.parse((file.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8")) as unknown;
  };
  for (const dir of dirs) {
    for (const file of readdirSync(dir).filter((f) => /\.history\.json(\.gz)?$/.test(f))) {
      const entry = read(path.join(dir, file)) as { startTime?: number; message?: string };
      if (entry.startTime !== startSeconds || (entry.message ?? "") !== update.message) continue;
      const checkpoint = path.join(dir, file.replace(".history.", ".checkpoint."));
      if (existsSync(checkpoint)) return read(checkpoint);
    }
  }
  throw new MaintenanceError(
    `no checkpoint of the update started ${update.startTime} in the file backend's history at ${root}`,
  );
}

/**
 * The deployment as it was after `update`: the current export for the newest update; for an
 * older one `pulumi stack export --version` where the backend numbers its updates (Pulumi
 * Cloud), else (file backend) the checkpoint it keeps with that history entry.
 */
async function deploymentAt(
  run: PulumiRunner,
  stack: string,
  update: HistoryEntry,
  history: { newest: HistoryEntry; renumbered: boolean },
): Promise<Deployment> {
  if (update === history.newest) {
    return parseDeployment(await pulumiJson(run, ["stack", "export", "--stack", stack]));
  }
  if (!history.renumbered) {
    return parseDeployment(
      await pulumiJson(run, ["stack", "export", "--stack", stack, "--version", String(update.version)]),
    );
  }
  const whoami = (await pulumiJson(run, ["whoami", "--json"])) as { url?: string };
  if (!whoami.url?.startsWith("file://")) {
    throw new MaintenanceError(
      `cannot read update ${update.version} of ${stack}: the backend at ${whoami.url ?? "?"} neither numbers ` +
        "its updates nor keeps them in a local directory",
    );
  }
  return parseDeployment(fileBackendCheckpoint(whoami.url, stack, update));
}

/** Writes the page of one window and returns its path. */
export async function writeWindowReport(options: {
  stack: string;
  out?: string;
  window?: number;
  run?: PulumiRunner;
}): Promise<{ path: string; html: string }> {
  const run = options.run ?? pulumiFromPath;
  const listed = await pulumiJson(run, ["stack", "history", "--json", "--stack", options.stack]);
  const { history, renumbered } = numberHistory(listed as HistoryEntry[]);
  const chosen = selectWindow(history, options.window);
  const order = { newest: history[0], renumbered };
  const shutdown = updateView(
    chosen.shutdown,
    await deploymentAt(run, options.stack, chosen.shutdown, order),
  );
  const startup = chosen.startup
    ? updateView(chosen.startup, await deploymentAt(run, options.stack, chosen.startup, order))
    : undefined;
  const chartJs = readFileSync(
    path.join(path.dirname(require.resolve("chart.js")), "chart.umd.min.js"),
    "utf8",
  );
  if (/<\/script/i.test(chartJs)) throw new Error("internal: the Chart.js bundle cannot be inlined as is");
  const html = renderWindowHtml(windowView(options.stack, shutdown, startup), chartJs);
  const out = path.resolve(
    options.out ?? `${options.stack.split("/").pop()}-window-${chosen.shutdown.version}.html`,
  );
  writeFileSync(out, html, { mode: 0o644 });
  return { path: out, html };
}

export const reportCommand: CliCommand = {
  name: "report",
  usage: USAGE,
  async run(args) {
    const flags = parseFlags(args, valueFlags("stack", "out", "window"), USAGE);
    const stack = requiredFlag(flags.stack, "stack");
    if (flags.out !== undefined && flags.out.trim() === "") throw new ConfigError("--out must name a file");
    const window = optionalNumberFlag(flags.window, "window", { min: 1, integer: true });
    const { path: written } = await writeWindowReport({ stack, out: flags.out, window });
    process.stdout.write(`window report: ${written}\n`);
    return 0;
  },
};
