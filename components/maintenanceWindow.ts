/**
 * The record of a maintenance window (Pulumi name `maintenance-window`), registered in both
 * phases so that its state carries from the shutdown to the startup and on to the next window:
 * in shutdown, just before the first service stops, it records the Tines versions and the time
 * of the first stop, and refuses settings that still point where the last endpoint switch moved
 * Tines away from; in running, first of all, it refuses to start anything if a version changed.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../lib/plan";
import type { SwitchInput, WindowSettings } from "../lib/window/record";
import { VERSIONED_SERVICES, type VersionSource, type VersionedWorkload } from "../lib/window/versions";
import { COMPONENT_TYPES } from "../lib/names";
import { MaintenanceWindowRecord, type WindowChecks } from "./resources/maintenanceWindow";

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

export class MaintenanceWindow extends pulumi.ComponentResource {
  /** Identifies the window: ISO time of its first shutdown update. */
  public readonly windowStartedAt: pulumi.Output<string>;
  /** ISO time at which the first service of the window was sent its stop. */
  public readonly firstStopAt: pulumi.Output<string | undefined>;
  /** Tines version by service key, as recorded at the window's shutdown. */
  public readonly images: pulumi.Output<Record<string, string>>;
  /** Set when a startup went ahead with a changed version because of versionGuard.allowChange. */
  public readonly versionOverride: pulumi.Output<{ changes: string[]; at: string } | undefined>;

  constructor(name: string, args: MaintenanceWindowArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(COMPONENT_TYPES.maintenanceWindow, name, {}, opts);
    const workloads: Record<string, VersionedWorkload> = {};
    for (const step of args.plan.steps) {
      if (step.type === "service" && VERSIONED_SERVICES.includes(step.name)) {
        workloads[step.name] = {
          name: step.workloadName,
          ...(step.workloadKind ? { kind: step.workloadKind } : {}),
        };
      }
    }
    const resource = new MaintenanceWindowRecord(
      name,
      {
        phase: args.plan.phase,
        allowVersionChange: args.allowVersionChange,
        source: args.versionSource,
        workloads,
        settings: pulumi.secret(args.settings),
        switched: args.switched === undefined ? undefined : pulumi.secret(args.switched),
        checks: args.checks ?? {},
      },
      { parent: this },
    );
    this.windowStartedAt = resource.windowStartedAt;
    this.firstStopAt = resource.firstStopAt;
    this.images = resource.images;
    this.versionOverride = resource.versionOverride;
    this.registerOutputs({
      windowStartedAt: this.windowStartedAt,
      firstStopAt: this.firstStopAt,
      images: this.images,
      versionOverride: this.versionOverride,
    });
  }
}
