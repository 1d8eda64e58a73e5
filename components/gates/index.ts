/**
 * Every gate, by name: one module each (./<gate>.ts), whose object extends the gate's entry in
 * lib/plan/gates.ts with how to register it and what the audit record shows of it. The program
 * (components/maintenance.ts) looks each plan step up here.
 */
import type { GateName } from "../../lib/plan/gates";
import { databaseBackupGate } from "./databaseBackup";
import { databaseMigrationGate } from "./databaseMigration";
import { databasePresyncGate } from "./databasePresync";
import { endpointPropagationGate } from "./endpointPropagation";
import { endpointSwitchGate } from "./endpointSwitch";
import type { Gate } from "./gate";
import { maintenanceWindowGate } from "./maintenanceWindow";
import { sidekiqCarryGate } from "./sidekiqCarry";
import { sidekiqDrainGate } from "./sidekiqDrain";
import { sidekiqPreflightGate } from "./sidekiqPreflight";
import { tinesHealthGate } from "./tinesHealth";

export const GATES: { readonly [N in GateName]: Gate<N> } = {
  "sidekiq-preflight": sidekiqPreflightGate,
  "maintenance-window": maintenanceWindowGate,
  "sidekiq-drain": sidekiqDrainGate,
  "sidekiq-carry": sidekiqCarryGate,
  "database-backup": databaseBackupGate,
  "database-migration": databaseMigrationGate,
  "database-presync": databasePresyncGate,
  "endpoint-switch": endpointSwitchGate,
  "endpoint-propagation": endpointPropagationGate,
  "tines-health": tinesHealthGate,
};

export type { Gate, GateContext, MaintenanceContext } from "./gate";
