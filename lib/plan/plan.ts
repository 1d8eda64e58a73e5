/**
 * The plan: which steps a `pulumi up` takes, in which order, at which counts. A pure
 * function of the validated config, shared by the program (which turns each step into a
 * resource that dependsOn the one before) and the `plan` CLI (which prints it).
 */
import {
  APPLICATION_TIER,
  SCALE_DOWN_ORDER,
  defaultWorkloadKind,
  defaultWorkloadName,
  type Phase,
  type Platform,
  type ServiceKey,
  type WorkloadKind,
} from "./services";
import { GATE_DEFINITIONS, type Anchor, type GateStep, type PlanConfig } from "./gates";

export interface ServiceStep {
  type: "service";
  /** The Pulumi resource name of the step: the service key. */
  name: ServiceKey;
  workloadName: string;
  /** Kubernetes only. */
  workloadKind?: WorkloadKind;
  /** The running count held in stack config. */
  configuredCount: number;
  /** The count this update scales to. */
  targetCount: number;
  keptRunning: boolean;
}

export type PlanStep = ServiceStep | GateStep;

export interface Plan {
  phase: Phase;
  platform: Platform;
  /** In execution order: each step starts only after the one before it has finished. */
  steps: PlanStep[];
}

function serviceStepsOf(config: PlanConfig): Map<ServiceKey, ServiceStep> {
  const keep = new Set(config.keepRunning);
  const steps = new Map<ServiceKey, ServiceStep>();
  for (const service of config.services) {
    const keptRunning = config.phase === "shutdown" && keep.has(service.key);
    steps.set(service.key, {
      type: "service",
      name: service.key,
      workloadName: service.name ?? defaultWorkloadName(config.platform, service.key),
      ...(config.platform === "kubernetes"
        ? { workloadKind: service.kind ?? defaultWorkloadKind(service.key) }
        : {}),
      configuredCount: service.count,
      targetCount: config.phase === "shutdown" && !keptRunning ? 0 : service.count,
      keptRunning,
    });
  }
  return steps;
}

/** Each gate of this phase that the config switches on, with its place (GATE_DEFINITIONS order). */
function gateStepsOf(config: PlanConfig, services: Map<ServiceKey, ServiceStep>) {
  const phase = config.phase;
  const context = { phase, service: (key: ServiceKey) => services.get(key) };
  const placed: Array<{ at: Anchor; step: GateStep }> = [];
  for (const gate of GATE_DEFINITIONS) {
    const where = gate.phases[phase as keyof typeof gate.phases] as
      { at: Anchor; description?: string } | undefined;
    const section = where && gate.step(config, context);
    if (!where || !section) continue;
    const description = where.description ?? gate.description;
    placed.push({
      at: where.at,
      step: { type: "gate", name: gate.name, description, ...section } as GateStep,
    });
  }
  return placed;
}

const isAt = (at: Anchor, place: "before" | "after", key: ServiceKey) =>
  typeof at === "object" && place in at && (at as Record<string, ServiceKey>)[place] === key;

export function buildPlan(config: PlanConfig): Plan {
  const services = serviceStepsOf(config);
  const gates = gateStepsOf(config, services);
  const at = (test: (anchor: Anchor) => boolean) => gates.filter((g) => test(g.at)).map((g) => g.step);

  const steps: PlanStep[] = [...at((a) => a === "start")];
  let firstServiceDone = false;
  const beforeFirstService = () => {
    if (!firstServiceDone) steps.push(...at((a) => a === "firstService"));
    firstServiceDone = true;
  };
  const tier = (keys: readonly ServiceKey[]) => {
    for (const key of keys) {
      const step = services.get(key);
      const around = [
        ...at((a) => isAt(a, "before", key)),
        ...(step ? [step] : []),
        ...at((a) => isAt(a, "after", key)),
      ];
      if (around.length === 0) continue;
      beforeFirstService();
      steps.push(...around);
    }
  };
  const application = SCALE_DOWN_ORDER.filter((key) => APPLICATION_TIER.includes(key));
  const dataStores = SCALE_DOWN_ORDER.filter((key) => !APPLICATION_TIER.includes(key));
  if (config.phase === "shutdown") {
    tier(application);
    steps.push(...at((a) => a === "betweenTiers"));
    tier(dataStores);
  } else {
    tier([...dataStores].reverse());
    steps.push(...at((a) => a === "betweenTiers"));
    tier([...application].reverse());
  }
  beforeFirstService();
  steps.push(...at((a) => a === "end"));
  return { phase: config.phase, platform: config.platform, steps };
}

export function serviceSteps(plan: Plan): ServiceStep[] {
  return plan.steps.filter((s): s is ServiceStep => s.type === "service");
}

/** Human-readable plan, one line a step, as the `plan` CLI prints it. */
export function formatPlan(plan: Plan): string {
  const lines = [
    `phase ${plan.phase} on ${plan.platform}: ${plan.steps.length} steps, each after the one before`,
  ];
  plan.steps.forEach((step, index) => {
    const n = String(index + 1).padStart(2);
    if (step.type === "gate") {
      lines.push(`${n}. gate    ${step.name}: ${step.description}`);
    } else {
      const workload = step.workloadKind ? `${step.workloadKind}/${step.workloadName}` : step.workloadName;
      const change = step.keptRunning
        ? `kept running at ${step.targetCount} (keepRunning)`
        : `scale to ${step.targetCount}${plan.phase === "shutdown" ? ` (restored to ${step.configuredCount} at startup)` : ""}`;
      lines.push(`${n}. service ${step.name} [${workload}]: ${change}`);
    }
  });
  return lines.join("\n");
}
