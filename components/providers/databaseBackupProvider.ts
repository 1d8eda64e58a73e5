/**
 * Dynamic provider behind `database-backup`: `create` (and `update` with a new trigger or
 * destination) dumps the database and records where, how big and its sha256. `check` and
 * `diff` touch nothing; `delete` keeps the backup (it is the operator's safety net).
 */
import * as pulumi from "@pulumi/pulumi";
import type { ProgressReporter } from "../../lib/progress";
import {
  backupDiff,
  checkBackupInputs,
  runBackupGate,
  type BackupGateInputs,
} from "../../lib/database/gates";

function reporter(): ProgressReporter {
  return { info: (m) => void pulumi.log.info(m), warn: (m) => void pulumi.log.warn(m) };
}

export const databaseBackupProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    return { inputs: news, failures: checkBackupInputs(news) };
  },
  async diff(_id, olds, news) {
    return backupDiff(olds, news);
  },
  async create(inputs) {
    const outs = await runBackupGate(inputs as BackupGateInputs, reporter());
    return { id: `database-backup-${outs.sha256.slice(0, 16)}`, outs };
  },
  async update(_id, olds, news) {
    if (!backupDiff(olds, news).changes) return { outs: olds };
    return { outs: await runBackupGate(news as BackupGateInputs, reporter()) };
  },
  async delete() {
    // The dump stays where it was written: removing the resource must not remove a backup.
  },
};
