/**
 * Dynamic provider behind `maintenance-window`: reads the Tines versions and writes the
 * window record (lib/window/record.ts). Refusals come from `diff` already, so `pulumi
 * preview` shows them; `diff` and `check` only read. It runs on every update, because what
 * it guards (images, settings) can change without any input changing.
 */
import type * as pulumi from "@pulumi/pulumi";
import { awsSettingsFromConfig, type AwsSettings } from "../../lib/aws/settings";
import { assessWindow, type WindowInputs, type WindowRecord } from "../../lib/window/record";
import { readWorkloadVersions, type VersionSource, type VersionedWorkload } from "../../lib/window/versions";
import { pulumiReporter } from "./pulumiReporter";
import { operatorFacing } from "./operatorFacing";
import { timed } from "./timed";

export interface MaintenanceWindowInputs extends WindowInputs {
  source: VersionSource;
  workloads: Record<string, VersionedWorkload>;
}

/** The record in state, or undefined when the outputs are not one (first update). */
function previousRecord(outs: Record<string, unknown> | undefined): WindowRecord | undefined {
  return outs && typeof outs.windowStartedAt === "string" ? (outs as unknown as WindowRecord) : undefined;
}

// The stack's `aws:*` settings, filled by `configure` in the provider process (never serialized).
const stackSettings: { aws: AwsSettings } = { aws: {} };

async function assess(inputs: MaintenanceWindowInputs, previous: WindowRecord | undefined) {
  const current = await readWorkloadVersions(inputs.source, inputs.workloads, stackSettings.aws);
  return assessWindow(previous, inputs, current, Date.now());
}

async function record(inputs: MaintenanceWindowInputs, previous: WindowRecord | undefined) {
  const { record: outs, warnings } = await assess(inputs, previous);
  for (const warning of warnings) pulumiReporter.warn(warning);
  return outs as unknown as Record<string, unknown>;
}

export const maintenanceWindowProvider: pulumi.dynamic.ResourceProvider = operatorFacing(
  timed({
    async configure(req: pulumi.dynamic.ConfigureRequest) {
      stackSettings.aws = awsSettingsFromConfig((key) => req.config.get(key));
    },
    async check(_olds, news) {
      return { inputs: news };
    },
    async diff(_id, olds, news) {
      await assess(news as MaintenanceWindowInputs, previousRecord(olds));
      return { changes: true, replaces: [], deleteBeforeReplace: false };
    },
    async create(inputs) {
      const outs = await record(inputs as MaintenanceWindowInputs, undefined);
      return { id: "maintenance-window", outs };
    },
    async update(_id, olds, news) {
      return { outs: await record(news as MaintenanceWindowInputs, previousRecord(olds)) };
    },
    async delete() {
      // Forgetting the record changes nothing on any platform.
    },
  }),
);
