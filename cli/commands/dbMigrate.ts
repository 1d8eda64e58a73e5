import { urlFlag } from "../urlFlag";
import { migrateDatabase } from "../../lib/database/migrate";
import { stderrReporter } from "../../lib/progress";
import { flagCommand, switchFlags, valueFlags } from "../command";
import { copyTuningFlags, databaseCopyOptions } from "../databaseCopyFlags";

const usage =
  "db-migrate --from URL|env:VAR --to URL|env:VAR [--jobs N] [--allow-non-empty-target] [--no-owner] " +
  "[--checksum-max-mib N] [--work-dir DIR] [--pg-bin DIR] [--json]";

/** Verified copy of the database to a new instance; the comparison on stdout, progress on stderr. */
export const dbMigrateCommand = flagCommand({
  name: "db-migrate",
  usage,
  options: {
    ...databaseCopyOptions,
    ...valueFlags("work-dir"),
    ...switchFlags("allow-non-empty-target"),
  },
  async run(flags) {
    const sourceUrl = urlFlag(flags.from, "--from", { reporter: stderrReporter }).url;
    const targetUrl = urlFlag(flags.to, "--to", { reporter: stderrReporter }).url;
    const { jobs, checksumMaxBytes } = copyTuningFlags(flags);
    const result = await migrateDatabase({
      sourceUrl,
      targetUrl,
      jobs,
      allowNonEmptyTarget: flags["allow-non-empty-target"] ?? false,
      noOwner: flags["no-owner"] ?? false,
      checksumMaxBytes,
      workDir: flags["work-dir"],
      binDir: flags["pg-bin"],
      reporter: stderrReporter,
    });
    if (flags.json) {
      const { comparison } = result;
      process.stdout.write(
        JSON.stringify({
          tables: comparison.tables,
          totalRows: comparison.totalRows.toString(),
          sequences: comparison.sequences,
          mismatches: comparison.mismatches,
          jobs: result.jobs,
          seconds: result.seconds,
          phases: result.phases,
        }) + "\n",
      );
    } else {
      process.stdout.write(
        `${result.report}\ncopied and verified in ${result.seconds.total.toFixed(1)}s (rows in after ${result.seconds.dump.toFixed(1)}s, ` +
          `indexes, keys and the rest ${result.seconds.restore.toFixed(1)}s more, verification ${result.seconds.verify.toFixed(1)}s more) with ${result.jobs} jobs\n`,
      );
    }
    return 0;
  },
});
