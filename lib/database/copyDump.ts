/**
 * The copy that replaces a non-empty target: a directory-format dump without compression,
 * restored with `--clean --if-exists` by parallel workers. The streamed copy cannot do this
 * (it creates tables empty and indexes after the data; `--clean` drops over every section
 * at once). The dump holds the data, so its directory is removed on every way out,
 * interrupts included (cleanup.ts).
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ProgressReporter } from "../progress";
import { removeOnExit } from "./cleanup";
import { childEnv, connectionArgs, secretsOf, type PgTarget } from "./connection";
import { runPgTool, type PgTools } from "./pgTools";
import { formatBytes, tableProgress } from "./progress";
import type { PhaseTimer } from "./timing";

/** Per restore session, so `jobs` times this at most; small enough for a modest managed instance. */
export const RESTORE_MAINTENANCE_WORK_MEM = "256MB";

export interface DumpCopyOptions {
  source: PgTarget;
  target: PgTarget;
  tools: PgTools;
  jobs: number;
  noOwner: boolean;
  sizes: Map<string, number>;
  workRoot: string;
  reporter: ProgressReporter;
  timer: PhaseTimer;
}

export async function dumpAndRestore(options: DumpCopyOptions): Promise<void> {
  const { source, target, tools, jobs, sizes, reporter, timer } = options;
  const dataBytes = [...sizes.values()].reduce((a, b) => a + b, 0);
  mkdirSync(options.workRoot, { recursive: true });
  const workDir = mkdtempSync(path.join(options.workRoot, "tines-db-migrate-"));
  const release = removeOnExit(workDir);
  const dumpDir = path.join(workDir, "dump");
  const secrets = secretsOf([source, target]);
  try {
    reporter.info(
      `db-migrate: dumping ${source.display} (${sizes.size} tables, ${formatBytes(dataBytes)}) with ${jobs} workers`,
    );
    const dumpProgress = tableProgress("dump", sizes, reporter);
    // No compression: the dump is read back at once from local disk, and gzip is what makes the seed's -Fc slow.
    await runPgTool(
      tools.pgDump,
      [...connectionArgs(source), "-Fd", "-Z", "0", "-j", String(jobs), "-v", "-f", dumpDir],
      {
        env: childEnv(source),
        secrets,
        what: "pg_dump from the source",
        onLine: (line) => dumpProgress.line(line),
      },
    ).done;
    dumpProgress.close();
    timer.mark("dump");

    reporter.info(`db-migrate: restoring into ${target.display} with ${jobs} workers`);
    const restoreProgress = tableProgress("restore", sizes, reporter);
    const args = [...connectionArgs(target), "-Fd", "-v", "--exit-on-error", "-j", String(jobs)];
    if (options.noOwner) args.push("--no-owner", "--no-acl");
    args.push("--clean", "--if-exists", dumpDir);
    await runPgTool(tools.pgRestore, args, {
      env: { ...childEnv(target), PGOPTIONS: `-c maintenance_work_mem=${RESTORE_MAINTENANCE_WORK_MEM}` },
      secrets,
      what: "pg_restore into the target",
      onLine: (line) => restoreProgress.line(line),
    }).done;
    restoreProgress.close();
    timer.mark("restore");
  } finally {
    release();
  }
}

export function defaultWorkRoot(): string {
  return os.tmpdir();
}
