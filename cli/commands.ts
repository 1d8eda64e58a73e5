import type { CliCommand } from "./command";
import { dbBackupCommand } from "./commands/dbBackup";
import { dbMigrateCommand } from "./commands/dbMigrate";
import { dbPresyncCommand } from "./commands/dbPresync";
import { drainWaitCommand } from "./commands/drainWait";
import { endpointCheckCommand } from "./commands/endpointCheck";
import { planCommand } from "./commands/plan";
import { queueCommand } from "./commands/queue";
import { redisCarryCommand } from "./commands/redisCarry";
import { reportCommand } from "./commands/report";

/** Every operator command, in the order `maint` lists them. */
export const commands: CliCommand[] = [
  planCommand,
  queueCommand,
  drainWaitCommand,
  dbBackupCommand,
  dbMigrateCommand,
  redisCarryCommand,
  dbPresyncCommand,
  endpointCheckCommand,
  reportCommand,
];
