/**
 * The flags `db-migrate` and `db-presync` share, because both run the same verified copy
 * (pg_dump, then verification) and an operator moving from one to the other should not relearn them.
 */
import { optionalNumberFlag, switchFlags, valueFlags } from "./command";

export const databaseCopyOptions = {
  ...valueFlags("from", "to", "jobs", "checksum-max-mib", "pg-bin"),
  ...switchFlags("no-owner", "json"),
};

/** How the copy runs, from `--jobs` and `--checksum-max-mib` (MiB on the command line, bytes inside). */
export function copyTuningFlags(flags: { jobs?: string; "checksum-max-mib"?: string }): {
  jobs: number | undefined;
  checksumMaxBytes: number | undefined;
} {
  const checksumMiB = optionalNumberFlag(flags["checksum-max-mib"], "checksum-max-mib", {
    min: 0,
    integer: true,
  });
  return {
    jobs: optionalNumberFlag(flags.jobs, "jobs", { min: 1, integer: true }),
    checksumMaxBytes: checksumMiB === undefined ? undefined : checksumMiB * 1024 * 1024,
  };
}
