/**
 * `db-migrate` on its own, for the compiled entry (`npm run build:cli` -> dist/db-migrate.js):
 * the same command and the same one-line errors as `maint db-migrate`, without loading the
 * other commands or compiling TypeScript at start-up.
 */
import { oneLine } from "../lib/errors";
import { dbMigrateCommand } from "./commands/dbMigrate";

dbMigrateCommand.run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`maint db-migrate: ${oneLine(error)}\n`);
    process.exit(1);
  },
);
