/**
 * What a gate is on the Pulumi side: its lib definition (lib/plan/gates.ts: name, description,
 * place in the plan, the config it reads) extended with `register`, which turns its plan step
 * into its component, and `audit`, what the update's audit record shows of it. One module per
 * gate (./<gate>.ts) exports one; ./index.ts collects them in GATES.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../../lib/config/stackConfig";
import { gateDefinition, type GateDefinitionOf, type GateName, type GateStepOf } from "../../lib/plan/gates";
import type { Plan } from "../../lib/plan/plan";
import type { PlatformAdapter } from "../platforms/adapter";
import type { ServiceStepComponent } from "../serviceStep";

/** Who runs this update, and when it started. */
export interface MaintenanceContext {
  stack: string;
  /** ISO time; also the gates' run id, so that a retried update runs every gate again. */
  startedAt: string;
  /** `user@host`, for the audit record. */
  ranBy: string;
}

/** What a gate may read while it registers: the update, its config and plan, and what came before it. */
export interface GateContext {
  config: StackConfig;
  plan: Plan;
  maintenance: MaintenanceContext;
  adapter: PlatformAdapter;
  /** The service steps registered so far, by service key. */
  serviceSteps: ReadonlyMap<string, ServiceStepComponent>;
  /** Another gate's component, registered earlier in this update (as a step, or standing). */
  registered<C>(name: GateName, type: abstract new (...args: never[]) => C): C | undefined;
}

/** The Pulumi side of a gate. */
export interface GateRegistration<N extends GateName, C extends pulumi.ComponentResource> {
  /** The component of the gate's step, with `opts` (parent: the run; dependsOn: the step before). */
  register(step: GateStepOf<N>, context: GateContext, opts: pulumi.ComponentResourceOptions): C;
  /**
   * Registered ahead of the steps in a phase where the plan has no step for the gate, so that
   * its state carries from one update to the next (the endpoint record in running); undefined
   * when it has nothing to keep.
   */
  standing?(context: GateContext, opts: pulumi.ComponentResourceOptions): C | undefined;
  /** Its entries in the audit record: host names and counts, never a secret. */
  audit(component: C, context: GateContext): Record<string, pulumi.Input<unknown>>;
}

export type Gate<
  N extends GateName = GateName,
  C extends pulumi.ComponentResource = pulumi.ComponentResource,
> = GateDefinitionOf<N> & GateRegistration<N, C>;

/** A gate's module object: its lib definition with the Pulumi side added. */
export function defineGate<N extends GateName, C extends pulumi.ComponentResource>(
  name: N,
  registration: GateRegistration<N, C>,
): Gate<N, C> {
  return { ...gateDefinition(name), ...registration };
}

/** The named outputs of a resource, e.g. for `registerOutputs` or the audit record. */
export function outputsOf<R, K extends keyof R>(resource: R, keys: readonly K[]): Pick<R, K> {
  return Object.fromEntries(keys.map((key) => [key, resource[key]])) as Pick<R, K>;
}

/** Args of a gate that runs again in every update (a retried `pulumi up` included). */
export interface PerUpdateGateArgs {
  /**
   * The update this run belongs to: the program passes the update's start time, and the
   * provider compares it as `trigger` in `diff`. A gate's pass (a drained queue, a dump taken
   * once the app was down) holds only for the update in which it ran, right before the step
   * it guards, so a retry runs the gate again instead of trusting a pass from before Sidekiq
   * or the app could have been started again.
   */
  runId: pulumi.Input<string>;
}

/** Longer than a gate's own timeout, so that the gate's message is the one the operator sees. */
export function beyondGateTimeout(timeoutSeconds: number): pulumi.CustomTimeouts {
  return { create: `${timeoutSeconds + 120}s`, update: `${timeoutSeconds + 120}s` };
}
