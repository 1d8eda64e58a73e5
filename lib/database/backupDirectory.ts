/**
 * Whether the dump can be written into `directory` (`database.backup.directory`), read-only:
 * it is a writable directory, or the nearest existing directory above it is one, so that it
 * can be created. Run before the first service stops (the window record), so that a path
 * under a regular file or an immutable directory is refused then, naming the key, instead of
 * failing the backup with Tines already down. Undefined when it can.
 *
 * A module of its own, with its requires inside: the window's provider is serialized with it.
 */
export function backupDirectoryProblem(directory: string): string | undefined {
  const fs = require("node:fs") as typeof import("node:fs");
  const path = require("node:path") as typeof import("node:path");
  const key = "tines-maintenance:database.backup.directory";
  const errorCode = (error: unknown) =>
    (error as NodeJS.ErrnoException).code ?? String((error as Error).message ?? error);
  let existing = path.resolve(directory);
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  let stat;
  try {
    stat = fs.statSync(existing);
  } catch (error) {
    return `${key}: ${existing} cannot be read (${errorCode(error)})`;
  }
  const creating = existing !== path.resolve(directory);
  if (!stat.isDirectory()) {
    return `${key}: the backup cannot be written to ${directory}: ${existing} is not a directory`;
  }
  try {
    fs.accessSync(existing, fs.constants.W_OK);
  } catch (error) {
    const code = errorCode(error);
    return creating
      ? `${key}: ${directory} does not exist and cannot be created in ${existing} (${code}: not writable)`
      : `${key}: the backup cannot be written to ${directory} (${code}: not writable${code === "EPERM" ? ", e.g. an immutable directory" : ""})`;
  }
  return undefined;
}
