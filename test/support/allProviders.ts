import type * as pulumi from "@pulumi/pulumi";
import { databaseBackupProvider } from "../../components/resources/databaseBackup";
import { databaseMigrationProvider } from "../../components/resources/databaseMigration";
import { kedaPauseProvider } from "../../components/resources/kedaPause";
import { kubernetesRolloutProvider } from "../../components/resources/kubernetesRollout";
import { composeServiceProvider } from "../../components/resources/composeService";
import { ecsServiceCountProvider } from "../../components/resources/ecsServiceCount";
import { endpointPropagationProvider } from "../../components/resources/endpointPropagation";
import { endpointSwitchProvider } from "../../components/resources/endpointSwitch";
import { sidekiqDrainProvider } from "../../components/resources/sidekiqDrain";
import { sidekiqPreflightProvider } from "../../components/resources/sidekiqPreflight";
import { maintenanceWindowProvider } from "../../components/resources/maintenanceWindow";
import { tinesHealthProvider } from "../../components/resources/tinesHealth";

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
