/**
 * Dynamic provider behind `maintenance-window`: reads the Tines versions and writes the
 * window record (lib/window/record.ts). Refusals come from `diff` already, so `pulumi
 * preview` shows them; `diff` and `check` only read. It runs on every update, because what
 * it guards (images, settings) can change without any input changing.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AwsSettings } from "../../lib/aws/settings";
import { backupDirectoryProblem } from "../../lib/database/backupDirectory";
import { checkEndpointTarget, type TargetCheckInputs } from "../../lib/endpoints/targetCheck";
import { GateError } from "../../lib/errors";
import { DYNAMIC_TYPES } from "../../lib/names";
import type { Phase } from "../../lib/services";
import { assessWindow, type WindowInputs, type WindowRecord } from "../../lib/window/record";
import { readWorkloadVersions, type VersionSource, type VersionedWorkload } from "../../lib/window/versions";
import { withAwsSettings } from "./awsSettings";
import { MaintenanceResource } from "./maintenanceResource";
import { pulumiReporter } from "./pulumiReporter";
import { operatorFacing } from "./operatorFacing";
import { timed } from "./timed";

/** What the shutdown's later steps write to, checked before the first stop (read-only). */
export interface WindowChecks {
  endpointTarget?: TargetCheckInputs;
  /** `database.backup.directory`. */
  backupDirectory?: string;
}

export interface MaintenanceWindowInputs extends WindowInputs {
  source: VersionSource;
  workloads: Record<string, VersionedWorkload>;
  checks?: WindowChecks;
}

/** The write targets of the shutdown: refused now, before anything stops, rather than with Tines down. */
async function checkTargets(inputs: MaintenanceWindowInputs, aws: AwsSettings): Promise<void> {
  if (inputs.phase !== "shutdown") return;
  const problems = [
    ...(inputs.checks?.endpointTarget ? await checkEndpointTarget(inputs.checks.endpointTarget, aws) : []),
    ...(inputs.checks?.backupDirectory ? [backupDirectoryProblem(inputs.checks.backupDirectory)] : []),
  ].filter((p): p is string => p !== undefined);
  if (problems.length > 0)
    throw new GateError(`maintenance-window: refused, nothing was changed: ${problems.join("; ")}`);
}

/** The record in state, or undefined when the outputs are not one (first update). */
function previousRecord(outs: Record<string, unknown> | undefined): WindowRecord | undefined {
  return outs && typeof outs.windowStartedAt === "string" ? (outs as unknown as WindowRecord) : undefined;
}

async function assess(inputs: MaintenanceWindowInputs, previous: WindowRecord | undefined, aws: AwsSettings) {
  await checkTargets(inputs, aws);
  const current = await readWorkloadVersions(inputs.source, inputs.workloads, aws);
  return assessWindow(previous, inputs, current, Date.now());
}

async function record(inputs: MaintenanceWindowInputs, previous: WindowRecord | undefined, aws: AwsSettings) {
  const { record: outs, warnings } = await assess(inputs, previous, aws);
  for (const warning of warnings) pulumiReporter.warn(warning);
  return outs as unknown as Record<string, unknown>;
}

export const maintenanceWindowProvider: pulumi.dynamic.ResourceProvider = withAwsSettings((aws) =>
  operatorFacing(
    timed({
      async check(_olds, news) {
        return { inputs: news };
      },
      async diff(_id, olds, news) {
        await assess(news as MaintenanceWindowInputs, previousRecord(olds), aws());
        return { changes: true, replaces: [], deleteBeforeReplace: false };
      },
      async create(inputs) {
        const outs = await record(inputs as MaintenanceWindowInputs, undefined, aws());
        return { id: "maintenance-window", outs };
      },
      async update(_id, olds, news) {
        return { outs: await record(news as MaintenanceWindowInputs, previousRecord(olds), aws()) };
      },
      async delete() {
        // Forgetting the record changes nothing on any platform.
      },
    }),
  ),
);

/** The `maintenance-window` gate's resource; its inputs are MaintenanceWindowInputs. */
export class MaintenanceWindowRecord extends MaintenanceResource {
  declare readonly phase: pulumi.Output<Phase>;
  declare readonly windowStartedAt: pulumi.Output<string>;
  declare readonly firstStopAt: pulumi.Output<string | undefined>;
  declare readonly images: pulumi.Output<Record<string, string>>;
  declare readonly versionOverride: pulumi.Output<{ changes: string[]; at: string } | undefined>;

  constructor(name: string, inputs: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
    super(
      maintenanceWindowProvider,
      DYNAMIC_TYPES.maintenanceWindow,
      name,
      inputs,
      [
        "windowStartedAt",
        "firstStopAt",
        "images",
        "versionOverride",
        "lastSwitch",
        "allowNonEmptyTargetWindow",
      ],
      opts,
    );
  }
}
