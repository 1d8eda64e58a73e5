/**
 * The record of a maintenance window (`maintenance-window`), registered in both phases so that
 * its state carries from the shutdown to the startup and on to the next window: in shutdown,
 * just before the first service stops, it records the Tines versions and the time of the first
 * stop, and refuses settings that still point where the last endpoint switch moved Tines away
 * from, and a shutdown whose later steps cannot work (the endpoint target, the backup directory,
 * the Sidekiq carry's pre-check: every one only read); in running, first of all, it refuses
 * to start anything if a version changed. Its provider reads the versions and writes the record (lib/window/record.ts). Refusals come
 * from `diff` already, so `pulumi preview` shows them; `diff` and `check` only read. It runs
 * on every update, because what it guards (images, settings) can change without any input
 * changing.
 */
import * as pulumi from "@pulumi/pulumi";
import { backupDirectoryProblem } from "../../lib/database/backupDirectory";
import { checkEndpointTarget, writtenKeys, type TargetCheckInputs } from "../../lib/endpoints/targetCheck";
import { GateError, oneLine } from "../../lib/errors";
import type { Plan } from "../../lib/plan/plan";
import { GATE_TYPES } from "../../lib/plan/names";
import { runCarryPrecheck, type CarryGateInputs } from "../../lib/sidekiq/carryGate";
import {
  assessWindow,
  type SwitchInput,
  type WindowInputs,
  type WindowRecord,
  type WindowSettings,
} from "../../lib/window/record";
import {
  VERSIONED_SERVICES,
  readWorkloadVersions,
  type VersionSource,
  type VersionedWorkload,
} from "../../lib/window/versions";
import { defineProvider, dynamicResource, type ProviderContext } from "../provider/defineProvider";
import { EndpointSwitch, targetSpec } from "./endpointSwitch";
import { defineGate, outputsOf, type GateContext } from "./gate";

const TYPES = GATE_TYPES["maintenance-window"];

/** What the shutdown's later steps write to, checked before the first stop (read-only). */
export interface WindowChecks {
  endpointTarget?: TargetCheckInputs;
  /** `database.backup.directory`. */
  backupDirectory?: string;
  /**
   * The `sidekiq-carry` gate's inputs (both URLs: the whole checks are a secret then): its
   * read-only pre-check refuses a carry that cannot work before anything stops.
   */
  sidekiqCarry?: CarryGateInputs;
}

export interface MaintenanceWindowInputs extends WindowInputs {
  source: VersionSource;
  workloads: Record<string, VersionedWorkload>;
  checks?: WindowChecks;
}

/** What the pre-check of the Sidekiq carry refuses, if anything; it logs what the carry will do. */
async function carryProblem(
  carry: CarryGateInputs | undefined,
  { reporter, signal }: Pick<ProviderContext, "reporter" | "signal">,
): Promise<string | undefined> {
  if (!carry) return undefined;
  try {
    await runCarryPrecheck(carry, reporter, { signal });
    return undefined;
  } catch (error) {
    return oneLine(error);
  }
}

/** The write targets of the shutdown: refused now, before anything stops, rather than with Tines down. */
async function checkTargets(inputs: MaintenanceWindowInputs, context: ProviderContext): Promise<void> {
  if (inputs.phase !== "shutdown") return;
  const { aws } = context;
  const problems = [
    ...(inputs.checks?.endpointTarget ? await checkEndpointTarget(inputs.checks.endpointTarget, aws) : []),
    ...(inputs.checks?.backupDirectory ? [backupDirectoryProblem(inputs.checks.backupDirectory)] : []),
    await carryProblem(inputs.checks?.sidekiqCarry, context),
  ].filter((p): p is string => p !== undefined);
  if (problems.length > 0)
    throw new GateError(`maintenance-window: refused, nothing was changed: ${problems.join("; ")}`);
}

/** The record in state, or undefined when the outputs are not one (first update). */
function previousRecord(outs: Record<string, unknown> | undefined): WindowRecord | undefined {
  return outs && typeof outs.windowStartedAt === "string" ? (outs as unknown as WindowRecord) : undefined;
}

async function assess(
  inputs: MaintenanceWindowInputs,
  previous: WindowRecord | undefined,
  context: ProviderContext,
) {
  const current = await readWorkloadVersions(inputs.source, inputs.workloads, context.aws);
  // Settings that still point where the last switch moved Tines away from are refused first:
  // the write targets' checks would only report what follows from them.
  const assessed = assessWindow(previous, inputs, current, Date.now());
  await checkTargets(inputs, context);
  return assessed;
}

async function record(
  inputs: MaintenanceWindowInputs,
  previous: WindowRecord | undefined,
  context: ProviderContext,
): Promise<WindowRecord> {
  const { record: outs, warnings } = await assess(inputs, previous, context);
  for (const warning of warnings) context.reporter.warn(warning);
  return outs;
}

export const maintenanceWindowProvider = defineProvider(
  {
    type: TYPES.resources.record,
    outputs: [
      "windowStartedAt",
      "firstStopAt",
      "images",
      "versionOverride",
      "lastSwitch",
      "allowNonEmptyTargetWindow",
    ],
    async diff(olds, news, context) {
      await assess(news as unknown as MaintenanceWindowInputs, previousRecord(olds), context);
      return { changes: true, replaces: [], deleteBeforeReplace: false };
    },
    create: (inputs: MaintenanceWindowInputs, context: ProviderContext) => record(inputs, undefined, context),
    id: () => "maintenance-window",
    update: (olds, news, context) =>
      record(news, previousRecord(olds as unknown as Record<string, unknown>), context),
    delete: "Forgetting the record changes nothing on any platform.",
  },
  { aws: true },
);

export class MaintenanceWindowResource extends dynamicResource(maintenanceWindowProvider) {}

export interface MaintenanceWindowArgs {
  /** The plan: its phase, and the Tines services whose versions are guarded. */
  plan: Plan;
  /** The platform adapter's source of versions. */
  versionSource: VersionSource;
  /** `versionGuard.allowChange`. */
  allowVersionChange: boolean;
  /** Shutdown: the URLs the gates will use (wrapped as a secret here). */
  settings: WindowSettings;
  /** Running: the endpoints the switch applied and its `switchedAt` (the Redis URL is wrapped as a secret). */
  switched?: pulumi.Input<SwitchInput | undefined>;
  /** Shutdown: what the later steps write to, checked read-only before the first stop. */
  checks?: WindowChecks;
}

const OUTPUTS = ["windowStartedAt", "firstStopAt", "images", "versionOverride"] as const;

export class MaintenanceWindow extends pulumi.ComponentResource {
  public readonly resource: MaintenanceWindowResource;

  constructor(name: string, args: MaintenanceWindowArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(TYPES.component, name, {}, opts);
    const workloads: Record<string, VersionedWorkload> = {};
    for (const step of args.plan.steps) {
      if (step.type === "service" && VERSIONED_SERVICES.includes(step.name)) {
        workloads[step.name] = {
          name: step.workloadName,
          ...(step.workloadKind ? { kind: step.workloadKind } : {}),
        };
      }
    }
    this.resource = new MaintenanceWindowResource(
      name,
      {
        phase: args.plan.phase,
        allowVersionChange: args.allowVersionChange,
        source: args.versionSource,
        workloads,
        settings: pulumi.secret(args.settings),
        switched: args.switched === undefined ? undefined : pulumi.secret(args.switched),
        // The carry's pre-check holds both Redis URLs.
        checks: args.checks?.sidekiqCarry ? pulumi.secret(args.checks) : (args.checks ?? {}),
      },
      { parent: this },
    );
    this.registerOutputs(outputsOf(this.resource, OUTPUTS));
  }
}

/** What the shutdown's endpoint switch and backup will write to, for the window to check first. */
function writeTargets({ config, plan }: GateContext): WindowChecks {
  const checks: WindowChecks = {};
  for (const step of plan.steps) {
    if (step.type !== "gate") continue;
    if (step.name === "endpoint-switch") {
      const { endpoints } = step;
      checks.endpointTarget = {
        target: targetSpec({
          endpoints,
          composeProjectDirectory: config.compose.projectDirectory,
          kubernetesNamespace: config.kubernetes.namespace,
        }),
        writes: writtenKeys(endpoints.keys, {
          databaseHost: endpoints.databaseHost !== undefined,
          redisUrl: endpoints.redisUrl !== undefined,
        }),
        pathKey:
          endpoints.target.kind === "env-file" && endpoints.target.path
            ? "endpoints.target.path"
            : "compose.projectDirectory",
      };
    }
    if (step.name === "database-backup" && step.database.backup.directory)
      checks.backupDirectory = step.database.backup.directory;
    if (step.name === "sidekiq-carry")
      checks.sidekiqCarry = {
        fromUrl: step.sidekiq.redisUrl,
        toUrl: step.newRedisUrl,
        namespace: step.sidekiq.namespace ?? "",
        mode: step.sidekiq.onRedisSwitch,
        trigger: "",
      };
  }
  return checks;
}

export const maintenanceWindowGate = defineGate("maintenance-window", {
  register: ({ name, allowVersionChange, settings }, context, opts) => {
    const { config, plan, adapter, registered } = context;
    // In running, the endpoint record stands ahead of the steps: the window checks the
    // settings against what the switch last applied.
    const record = registered("endpoint-switch", EndpointSwitch);
    const endpoints = config.endpoints;
    return new MaintenanceWindow(
      name,
      {
        plan,
        versionSource: adapter.versionSource,
        allowVersionChange,
        settings,
        checks: plan.phase === "shutdown" ? writeTargets(context) : undefined,
        switched:
          record && endpoints
            ? record.resource.switchedAt.apply((switchedAt) => ({
                switchedAt,
                databaseHost: endpoints.databaseHost,
                databasePort: endpoints.databasePort,
                redisUrl: endpoints.redisUrl,
              }))
            : undefined,
      },
      opts,
    );
  },
  audit: ({ resource }) => {
    const { images, ...rest } = outputsOf(resource, OUTPUTS);
    return {
      window: {
        windowStartedAt: rest.windowStartedAt,
        firstStopAt: rest.firstStopAt,
        versions: images,
        versionOverride: rest.versionOverride,
      },
    };
  },
});

/** The window's start, for a gate of the same update that keys its reruns on it (the plan puts the window first). */
export function windowStartedAt(gate: string, registered: GateContext["registered"]): pulumi.Output<string> {
  const window = registered("maintenance-window", MaintenanceWindow);
  if (!window) throw new Error(`internal: the plan put ${gate} before the window record`);
  return window.resource.windowStartedAt;
}
