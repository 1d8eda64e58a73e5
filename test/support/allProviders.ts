import type * as pulumi from "@pulumi/pulumi";
import { databaseBackupProvider } from "../../components/gates/databaseBackupResource";
import { databaseMigrationProvider } from "../../components/gates/databaseMigrationResource";
import { kedaPauseProvider } from "../../components/platforms/kedaPause";
import { kubernetesRolloutProvider } from "../../components/platforms/kubernetesRollout";
import { composeServiceProvider } from "../../components/platforms/composeService";
import { ecsServiceCountProvider } from "../../components/platforms/ecsServiceCount";
import { endpointPropagationProvider } from "../../components/gates/endpointPropagationResource";
import { endpointSwitchProvider } from "../../components/gates/endpointSwitchResource";
import { sidekiqDrainProvider } from "../../components/gates/sidekiqDrainResource";
import { sidekiqPreflightProvider } from "../../components/gates/sidekiqPreflightResource";
import { maintenanceWindowProvider } from "../../components/gates/maintenanceWindowResource";
import { tinesHealthProvider } from "../../components/gates/tinesHealthResource";

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
