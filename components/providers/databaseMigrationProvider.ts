/**
 * Dynamic provider behind `database-migration`: `create` (and `update` with a new trigger
 * or target) copies the database to the new instance and fails the update on any
 * verification mismatch. `check` and `diff` touch nothing; `delete` never drops the copy.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ProgressReporter } from "../../lib/progress";
import {
  checkMigrationInputs,
  migrationDiff,
  runMigrationGate,
  type MigrationGateInputs,
} from "../../lib/database/gates";

function reporter(): ProgressReporter {
  return { info: (m) => void pulumi.log.info(m), warn: (m) => void pulumi.log.warn(m) };
}

export const databaseMigrationProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    return { inputs: news, failures: checkMigrationInputs(news) };
  },
  async diff(_id, olds, news) {
    return migrationDiff(olds, news);
  },
  async create(inputs) {
    const outs = await runMigrationGate(inputs as MigrationGateInputs, reporter());
    return { id: `database-migration-${Date.parse(outs.finishedAt)}`, outs };
  },
  async update(_id, olds, news) {
    if (!migrationDiff(olds, news).changes) return { outs: olds };
    return { outs: await runMigrationGate(news as MigrationGateInputs, reporter()) };
  },
  async delete() {
    // The new instance now holds the data Tines will use: never drop it.
  },
};
