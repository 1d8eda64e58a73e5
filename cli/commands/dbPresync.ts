import { ConfigError, MaintenanceError } from "../../lib/errors";
import { cutOver } from "../../lib/database/cutover";
import { parsePgUrl } from "../../lib/database/connection";
import {
  assertPresyncPossible,
  presyncStatus,
  removePresyncObjects,
  startPresync,
  type PresyncTargets,
} from "../../lib/database/presync";
import { presyncLeftovers, removePresync } from "../../lib/database/presyncObjects";
import { formatStatus } from "../../lib/database/presyncStatus";
import { formatBytes } from "../../lib/database/progress";
import { stderrReporter } from "../../lib/progress";
import { optionalNumberFlag, parseFlags, switchFlags, valueFlags, type CliCommand } from "../command";
import { copyTuningFlags, databaseCopyOptions } from "../databaseCopyFlags";
import { urlFlag } from "../urlFlag";

const ACTIONS = ["check", "start", "status", "cutover", "remove", "leftovers"] as const;

const usage =
  `db-presync ${ACTIONS.join("|")} --from URL|env:VAR [--to URL|env:VAR] [--stack NAME] [--jobs N] [--no-owner] ` +
  "[--checksum-max-mib N] [--timeout SECONDS] [--full-verify] [--drop-target] [--pg-bin DIR] [--json]";

/**
 * Presync by logical replication, step by step (what the stack does in phase running and in
 * the shutdown): `check` (the refusals, read-only), `start` (set up, copy, stream), `status`
 * (the lag), `cutover` (once Tines is stopped: catch up, remove the replication, sequences,
 * verify), `remove` (every replication object; `--drop-target` also the copy), `leftovers`
 * (slots and publications of ours on the source; exit 1 when there are any). A first Ctrl-C
 * stops the step and removes what it created; a second one ends the process at once.
 */
export const dbPresyncCommand: CliCommand = {
  name: "db-presync",
  usage,
  async run(args) {
    const [action, ...rest] = args;
    if (!(ACTIONS as readonly string[]).includes(action ?? "")) {
      throw new ConfigError(
        `db-presync: the first argument must be one of: ${ACTIONS.join(", ")}; usage: ${usage}`,
      );
    }
    const flags = parseFlags(
      rest,
      {
        ...databaseCopyOptions,
        ...valueFlags("stack", "timeout"),
        ...switchFlags("full-verify", "drop-target"),
      },
      usage,
    );
    const sourceUrl = urlFlag(flags.from, "--from", { reporter: stderrReporter }).url;
    const out = (text: string, json: unknown) =>
      process.stdout.write(`${flags.json ? JSON.stringify(json) : text}\n`);
    if (action === "leftovers") {
      const left = await presyncLeftovers(parsePgUrl(sourceUrl, "--from"), { allDatabases: true });
      out(
        left.lines.length > 0
          ? left.lines.join("\n")
          : "no replication slot or publication of ours on the source",
        left,
      );
      return left.lines.length > 0 ? 1 : 0;
    }
    if (action === "remove" && flags.to === undefined) {
      // The target may be gone: the source's objects of ours go, in its database.
      return withInterrupts(async () => {
        const source = parsePgUrl(sourceUrl, "--from");
        const removed = await removePresync({ source, reporter: stderrReporter });
        out(`removed ${removed.slots.length} slots and ${removed.publications.length} publications`, removed);
        return 0;
      });
    }
    const common: PresyncTargets = {
      sourceUrl,
      targetUrl: urlFlag(flags.to, "--to", { reporter: stderrReporter }).url,
      stack: flags.stack ?? "maint",
    };
    // start copies and verifies, cutover verifies again: both with the same tuning and owner rule.
    const copy = { ...common, ...copyTuningFlags(flags), noOwner: flags["no-owner"] ?? false };
    switch (action) {
      case "check": {
        await assertPresyncPossible({
          ...common,
          mode: "start",
          noOwner: flags["no-owner"],
          reporter: stderrReporter,
        });
        out("no refusal: a presync can start", { problems: [] });
        return 0;
      }
      case "start":
        return withInterrupts(async (signal) => {
          const result = await startPresync({
            ...copy,
            binDir: flags["pg-bin"],
            reporter: stderrReporter,
            signal,
          });
          out(
            result.alreadyRunning
              ? `presync ${result.name} already set up: ${formatStatus(result.status)}`
              : `presync ${result.name}: ${result.tables} tables, ${result.rows} rows (${formatBytes(result.bytes)}) copied and verified in ${result.copySeconds.toFixed(1)}s; ${formatStatus(result.status)}`,
            result,
          );
          return 0;
        });
      case "status": {
        const status = await presyncStatus(common);
        out(formatStatus(status), status);
        return status.state === "streaming" || status.state === "done" ? 0 : 1;
      }
      case "cutover":
        return withInterrupts(async (signal) => {
          const result = await cutOver({
            ...copy,
            catchUpTimeoutSeconds: optionalNumberFlag(flags.timeout, "timeout", { min: 1, integer: true }),
            verify: flags["full-verify"] ? "full" : "changed",
            reporter: stderrReporter,
            signal,
          });
          const s = result.seconds;
          out(
            `${result.report}\ncut over in ${s.total.toFixed(2)}s: caught up ${s.catchUp.toFixed(2)}s (${formatBytes(result.lagBytesAtStart)} behind at the start), ` +
              `replication removed ${s.teardown.toFixed(2)}s, sequences ${s.sequences.toFixed(2)}s, verified (${result.verification}) ${s.verify.toFixed(2)}s`,
            {
              name: result.name,
              verification: result.verification,
              recheckedInFull: result.recheckedInFull,
              lagBytesAtStart: result.lagBytesAtStart,
              seconds: result.seconds,
              tables: result.comparison.tables,
              totalRows: result.comparison.totalRows.toString(),
              mismatches: result.comparison.mismatches,
            },
          );
          return 0;
        });
      default: {
        return withInterrupts(async () => {
          const removed = await removePresyncObjects({
            ...common,
            reporter: stderrReporter,
            dropTarget: flags["drop-target"] ?? false,
          });
          out(
            `removed ${removed.subscriptions.length} subscriptions, ${removed.slots.length} slots, ${removed.publications.length} publications${removed.targetDropped ? " and the target database" : ""}`,
            removed,
          );
          return 0;
        });
      }
    }
  },
};

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Run `work` with a signal that the first SIGINT/SIGTERM/SIGHUP aborts; once `work` has
 * cleaned up and failed, the process ends by that signal, as an uninterrupted tool would.
 * A second signal, or 30 s without the clean-up finishing, ends it at once.
 */
async function withInterrupts(work: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (received) {
      uninstall();
      process.kill(process.pid, signal);
      return;
    }
    received = signal;
    process.stderr.write(
      `maint db-presync: ${signal}: stopping and removing what this step created (again to quit now)\n`,
    );
    controller.abort();
    setTimeout(() => {
      uninstall();
      process.kill(process.pid, signal);
    }, 30_000).unref();
  };
  const uninstall = () => SIGNALS.forEach((s) => process.removeListener(s, handler));
  SIGNALS.forEach((s) => process.on(s, handler));
  try {
    return await work(controller.signal);
  } catch (error) {
    if (!received) throw error;
    process.stderr.write(`maint db-presync: ${(error as MaintenanceError).message}\n`);
    uninstall();
    process.kill(process.pid, received);
    // The signal ends the process; this only satisfies the type.
    return 1;
  } finally {
    uninstall();
  }
}
