/**
 * Dynamic provider behind `database-migration`: `create` (and `update` with a new trigger
 * or target) copies the database to the new instance and fails the update on any
 * verification mismatch. `check` and `diff` touch nothing.
 */
import { checkMigrationInputs, migrationDiff, runMigrationGate } from "../../lib/database/gates";
import { gateProvider } from "./gateProvider";

export const databaseMigrationProvider = gateProvider({
  check: checkMigrationInputs,
  diff: migrationDiff,
  run: runMigrationGate,
  id: (outs) => `database-migration-${Date.parse(outs.finishedAt)}`,
  keptOnDelete: "The new instance now holds the data Tines will use: never drop it.",
});
