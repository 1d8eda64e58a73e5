/**
 * Dynamic provider behind `database-backup`: `create` (and `update` with a new trigger or
 * destination) dumps the database and records where, how big and its sha256. `check` and
 * `diff` touch nothing.
 */
import { backupDiff, checkBackupInputs, runBackupGate } from "../../lib/database/gates";
import { gateProvider } from "./gateProvider";

export const databaseBackupProvider = gateProvider({
  check: checkBackupInputs,
  diff: backupDiff,
  run: runBackupGate,
  id: (outs) => `database-backup-${outs.sha256.slice(0, 16)}`,
  keptOnDelete: "The dump stays where it was written: removing the resource must not remove a backup.",
});
