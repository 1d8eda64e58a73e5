/**
 * tines-maintenance: the self-hosted Tines maintenance runbook as one Pulumi update.
 *
 * 1. Read the stack config and validate all of it: a mistake stops here, before anything is
 *    registered, with one line naming the key and the allowed values.
 * 2. Build the maintenance (components/maintenance.ts): the plan for the phase, then one step
 *    after another under one MaintenanceRun. Shutdown: preflight, window record, services down
 *    in the seed's order with the Sidekiq drain before tines-sidekiq and the backup before the
 *    data stores, then migration and endpoint switch. Running: window record, endpoint
 *    propagation, services up in reverse order, Tines healthy.
 * 3. Export the plan, the service counts and the audit record.
 */
import os from "node:os";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT_NAME, assertCredentialsAreSecrets, rawConfigFromPulumi } from "./lib/config";
import { isMaintenanceError } from "./lib/errors";
import { parseStackConfig } from "./lib/config/stackConfig";
import { buildMaintenance } from "./components/maintenance";

/** Operator-facing errors as RunError: Pulumi prints the message alone, without a stack trace. */
function operatorFacing<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (isMaintenanceError(error)) throw new pulumi.RunError(error.message);
    throw error;
  }
}

/**
 * Whether the engine holds a top-level key as a secret. `isConfigSecret` is the SDK's own
 * reading of the engine's list (marked internal, so not in its types); the list itself, in
 * PULUMI_CONFIG_SECRET_KEYS, where an SDK lacks it.
 */
function isSecretKey(key: string): boolean {
  const sdk = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
  if (typeof sdk.isConfigSecret === "function") return sdk.isConfigSecret(key);
  const keys = JSON.parse(process.env.PULUMI_CONFIG_SECRET_KEYS ?? "[]") as unknown;
  return Array.isArray(keys) && keys.includes(key);
}

const raw = rawConfigFromPulumi(pulumi.runtime.allConfig());
operatorFacing(() => assertCredentialsAreSecrets(raw, ([key]) => isSecretKey(`${PROJECT_NAME}:${key}`)));
const config = operatorFacing(() => parseStackConfig(raw));
const maintenance = operatorFacing(() =>
  buildMaintenance(config, {
    stack: pulumi.getStack(),
    startedAt: new Date().toISOString(),
    ranBy: `${os.userInfo().username}@${os.hostname()}`,
  }),
);

export const phase = maintenance.plan.phase;
export const platform = maintenance.plan.platform;
export const steps = maintenance.plan.steps.map((step) => step.name);
export const services = maintenance.services;
export const audit = maintenance.audit;
