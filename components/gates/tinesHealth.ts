/**
 * The last gate of a startup (`tines-health`): waits until Tines reports healthy through
 * `health.url`, and fails the update after the timeout; it starts and stops nothing. It waits
 * again only in a new window. Its `healthyAt` closes the downtime record the window opened.
 */
import * as pulumi from "@pulumi/pulumi";
import type { HealthConfig } from "../../lib/health/config";
import { checkHealthInputs, healthDiff, runHealthGate, type HealthGateInputs } from "../../lib/health/gate";
import { GATE_TYPES } from "../../lib/plan/names";
import { defineProvider, dynamicResource, type ProviderContext } from "../provider/defineProvider";
import { beyondGateTimeout, defineGate, outputsOf } from "./gate";
import { MaintenanceWindow } from "./maintenanceWindow";

const TYPES = GATE_TYPES["tines-health"];

export const tinesHealthProvider = defineProvider({
  type: TYPES.resources.check,
  // target: the URL waited on, without credentials; healthyAt: ISO time of Tines' first healthy
  // answer; status: that answer, e.g. `HTTP 200`.
  outputs: ["target", "healthyAt", "waitedSeconds", "status"],
  check: checkHealthInputs,
  diff: healthDiff,
  create: (inputs: HealthGateInputs, { reporter }: ProviderContext) => runHealthGate(inputs, reporter),
  id: (outs) => `tines-health-${Date.parse(outs.healthyAt)}`,
  delete: "Waiting changed nothing: there is nothing to undo.",
});

export class TinesHealthResource extends dynamicResource(tinesHealthProvider) {}

export interface TinesHealthArgs {
  /** `health.*`; the URL is wrapped as a secret here (it may carry credentials). */
  health: HealthConfig;
  /** From the MaintenanceWindow: the gate waits again only in a new window. */
  windowStartedAt: pulumi.Input<string>;
}

const OUTPUTS = ["target", "healthyAt", "waitedSeconds", "status"] as const;

export class TinesHealth extends pulumi.ComponentResource {
  public readonly resource: TinesHealthResource;

  constructor(name: string, args: TinesHealthArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(TYPES.component, name, {}, opts);
    const { health } = args;
    this.resource = new TinesHealthResource(
      name,
      {
        url: pulumi.secret(health.url),
        timeoutSeconds: health.timeoutSeconds,
        intervalSeconds: health.intervalSeconds,
        windowStartedAt: args.windowStartedAt,
      },
      { parent: this, customTimeouts: beyondGateTimeout(health.timeoutSeconds) },
    );
    this.registerOutputs(outputsOf(this.resource, OUTPUTS));
  }
}

export const tinesHealthGate = defineGate("tines-health", {
  register: ({ name, health }, context, opts) => {
    // The plan puts the window first in every startup.
    const window = context.registered("maintenance-window", MaintenanceWindow);
    if (!window) throw new Error(`internal: the plan put ${name} before the window record`);
    return new TinesHealth(name, { health, windowStartedAt: window.resource.windowStartedAt }, opts);
  },
  audit: ({ resource }, context) => {
    const window = context.registered("maintenance-window", MaintenanceWindow)?.resource;
    const { target, ...rest } = outputsOf(resource, OUTPUTS);
    return {
      tinesHealth: { url: target, ...rest },
      // From the first service stopped to Tines healthy again: closed by the startup's health gate.
      ...(window && {
        downtime: pulumi.all([window.firstStopAt, resource.healthyAt]).apply(([from, to]) => ({
          from,
          to,
          seconds: from ? Math.round((Date.parse(to) - Date.parse(from)) / 1000) : undefined,
        })),
      }),
    };
  },
});
