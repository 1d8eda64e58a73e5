/**
 * Dynamic provider behind `database-backup`: `create` (and `update` with a new trigger or
 * destination) dumps the database and records where, how big and its sha256. `check` and
 * `diff` touch nothing. An S3 upload uses the stack's `aws:*` settings from the configure
 * request.
 */
import type * as pulumi from "@pulumi/pulumi";
import { awsSettingsFromConfig, type AwsSettings } from "../../lib/aws/settings";
import { backupDiff, checkBackupInputs, runBackupGate } from "../../lib/database/gates";
import { gateProvider } from "./gateProvider";

// Filled by `configure` in the provider process; serialized empty, so nothing is frozen in.
const stackSettings: { aws: AwsSettings } = { aws: {} };

export const databaseBackupProvider: pulumi.dynamic.ResourceProvider = {
  ...gateProvider({
    check: checkBackupInputs,
    diff: backupDiff,
    run: (inputs: Parameters<typeof runBackupGate>[0], reporter) =>
      runBackupGate(inputs, reporter, stackSettings.aws),
    id: (outs) => `database-backup-${outs.sha256.slice(0, 16)}`,
    keptOnDelete: "The dump stays where it was written: removing the resource must not remove a backup.",
  }),
  async configure(req: pulumi.dynamic.ConfigureRequest) {
    stackSettings.aws = awsSettingsFromConfig((key) => req.config.get(key));
  },
};
