import { backupDatabase } from "../../lib/database/backup";
import { urlFlag } from "../urlFlag";
import { ConfigError } from "../../lib/errors";
import { stderrReporter } from "../../lib/progress";
import { optionalNumberFlag, flagCommand, switchFlags, valueFlags } from "../command";

const usage =
  "db-backup --url URL|env:VAR (--dir DIR | --s3-bucket B [--s3-prefix P] [--s3-region R] [--s3-endpoint URL]) " +
  "[--stack NAME] [--phase P] [--compress 0-9] [--pg-bin DIR] [--json]";

/** One custom-format archive of the database; location, size and sha256 on stdout. */
export const dbBackupCommand = flagCommand({
  name: "db-backup",
  usage,
  options: {
    ...valueFlags("url", "dir", "s3-bucket", "s3-prefix", "s3-region", "s3-endpoint"),
    ...valueFlags("stack", "phase", "compress", "pg-bin"),
    ...switchFlags("json"),
  },
  async run(flags) {
    const url = urlFlag(flags.url, "--url", { reporter: stderrReporter }).url;
    if (!flags.dir && !flags["s3-bucket"])
      throw new ConfigError(`--dir or --s3-bucket is required; usage: ${usage}`);
    const compressLevel = optionalNumberFlag(flags.compress, "compress", { min: 0, integer: true });
    if (compressLevel !== undefined && compressLevel > 9)
      throw new ConfigError(`--compress must be an integer from 0 to 9, got "${flags.compress}"`);
    const result = await backupDatabase({
      url,
      directory: flags.dir,
      s3: flags["s3-bucket"]
        ? {
            bucket: flags["s3-bucket"],
            prefix: flags["s3-prefix"],
            region: flags["s3-region"],
            endpoint: flags["s3-endpoint"],
          }
        : undefined,
      stack: flags.stack ?? "manual",
      phase: flags.phase ?? "backup",
      compressLevel,
      binDir: flags["pg-bin"],
      reporter: stderrReporter,
    });
    process.stdout.write(
      flags.json
        ? JSON.stringify(result) + "\n"
        : `${[result.path, result.s3Uri].filter(Boolean).join(" ")} ${result.bytes} bytes sha256 ${result.sha256}\n`,
    );
    return 0;
  },
});
