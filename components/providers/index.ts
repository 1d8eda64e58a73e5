import type * as pulumi from "@pulumi/pulumi";
import { databaseBackupProvider } from "./databaseBackupProvider";
import { databaseMigrationProvider } from "./databaseMigrationProvider";
import { kedaPauseProvider } from "./kedaPauseProvider";
import { kubernetesRolloutProvider } from "./kubernetesRolloutProvider";
import { composeServiceProvider } from "./composeServiceProvider";
import { ecsServiceCountProvider } from "./ecsServiceCountProvider";
import { endpointPropagationProvider } from "./endpointPropagationProvider";
import { endpointSwitchProvider } from "./endpointSwitchProvider";
import { sidekiqDrainProvider } from "./sidekiqDrainProvider";
import { sidekiqPreflightProvider } from "./sidekiqPreflightProvider";
import { maintenanceWindowProvider } from "./maintenanceWindowProvider";
import { tinesHealthProvider } from "./tinesHealthProvider";

/**
 * Every dynamic provider of the program, so one test can prove that each serializes and
 * loads as the Pulumi CLI runs it (test/providerSerialization.test.ts).
 */
export const allProviders: Record<string, pulumi.dynamic.ResourceProvider> = {
  databaseBackup: databaseBackupProvider,
  databaseMigration: databaseMigrationProvider,
  composeService: composeServiceProvider,
  ecsServiceCount: ecsServiceCountProvider,
  endpointPropagation: endpointPropagationProvider,
  endpointSwitch: endpointSwitchProvider,
  kedaPause: kedaPauseProvider,
  kubernetesRollout: kubernetesRolloutProvider,
  sidekiqDrain: sidekiqDrainProvider,
  sidekiqPreflight: sidekiqPreflightProvider,
  maintenanceWindow: maintenanceWindowProvider,
  tinesHealth: tinesHealthProvider,
};
