import { describe, expect, it } from "vitest";
import { COMPONENT_TYPES, DYNAMIC_TYPES, GATE_TYPES, dynamicTypeToken } from "./names";

describe("type tokens", () => {
  it("are the ones every existing stack's URNs hold (a changed token would replace its resources)", () => {
    const components = [
      ...Object.values(COMPONENT_TYPES),
      ...Object.values(GATE_TYPES).map((gate) => gate.component),
    ];
    const dynamic = [
      ...Object.values(DYNAMIC_TYPES),
      ...Object.values(GATE_TYPES).flatMap((gate) => Object.values(gate.resources)),
    ].map(dynamicTypeToken);
    expect(components.sort()).toEqual([
      "tines-maintenance:index:DatabaseBackup",
      "tines-maintenance:index:DatabaseMigration",
      "tines-maintenance:index:DatabasePresync",
      "tines-maintenance:index:EndpointPropagationGate",
      "tines-maintenance:index:EndpointSwitch",
      "tines-maintenance:index:MaintenanceRun",
      "tines-maintenance:index:MaintenanceWindow",
      "tines-maintenance:index:ServiceStep",
      "tines-maintenance:index:SidekiqCarry",
      "tines-maintenance:index:SidekiqDrainGate",
      "tines-maintenance:index:SidekiqPreflight",
      "tines-maintenance:index:TinesHealthGate",
    ]);
    expect(dynamic.sort()).toEqual([
      "pulumi-nodejs:dynamic/compose:Service",
      "pulumi-nodejs:dynamic/database:Backup",
      "pulumi-nodejs:dynamic/database:Cutover",
      "pulumi-nodejs:dynamic/database:Migration",
      "pulumi-nodejs:dynamic/database:Presync",
      "pulumi-nodejs:dynamic/ecs:ServiceCount",
      "pulumi-nodejs:dynamic/endpoints:Propagation",
      "pulumi-nodejs:dynamic/endpoints:Switch",
      "pulumi-nodejs:dynamic/kubernetes:KedaPause",
      "pulumi-nodejs:dynamic/kubernetes:Rollout",
      "pulumi-nodejs:dynamic/sidekiq:Carry",
      "pulumi-nodejs:dynamic/sidekiq:DrainGate",
      "pulumi-nodejs:dynamic/sidekiq:Preflight",
      "pulumi-nodejs:dynamic/tines:Health",
      "pulumi-nodejs:dynamic/window:Record",
    ]);
  });
});
