import { urlFlag } from "../urlFlag";
import { migrateDatabase } from "../../lib/database/migrate";
import { stderrReporter } from "../../lib/progress";
import { numberFlag, parseFlags, type CliCommand } from "../command";

const usage =
  "db-migrate --from URL|env:VAR --to URL|env:VAR [--jobs N] [--allow-non-empty-target] [--no-owner] " +
  "[--checksum-max-mib N] [--work-dir DIR] [--pg-bin DIR] [--json]";

/** Verified copy of the database to a new instance; the comparison on stdout, progress on stderr. */
export const dbMigrateCommand: CliCommand = {
  name: "db-migrate",
  usage,
  async run(args) {
    const flags = parseFlags(
      args,
      {
        from: { type: "string" },
        to: { type: "string" },
        jobs: { type: "string" },
        "allow-non-empty-target": { type: "boolean" },
        "no-owner": { type: "boolean" },
        "checksum-max-mib": { type: "string" },
        "work-dir": { type: "string" },
        "pg-bin": { type: "string" },
        json: { type: "boolean" },
      },
      usage,
    );
    const sourceUrl = urlFlag(flags.from, "--from", { reporter: stderrReporter }).url;
    const targetUrl = urlFlag(flags.to, "--to", { reporter: stderrReporter }).url;
    const jobs =
      flags.jobs === undefined ? undefined : numberFlag(flags.jobs, "jobs", { min: 1, integer: true });
    const checksumMiB =
      flags["checksum-max-mib"] === undefined
        ? undefined
        : numberFlag(flags["checksum-max-mib"], "checksum-max-mib", { min: 0, integer: true });
    const result = await migrateDatabase({
      sourceUrl,
      targetUrl,
      jobs,
      allowNonEmptyTarget: flags["allow-non-empty-target"] ?? false,
      noOwner: flags["no-owner"] ?? false,
      checksumMaxBytes: checksumMiB === undefined ? undefined : checksumMiB * 1024 * 1024,
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
};
