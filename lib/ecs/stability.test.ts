import { describe, expect, it } from "vitest";
import type { DescribeServicesCommandOutput } from "@aws-sdk/client-ecs";
import recorded from "./testdata/describeServices.json";
import { isServiceStable, serviceState } from "./stability";

const response = (name: keyof typeof recorded) => recorded[name] as unknown as DescribeServicesCommandOutput;

describe("isServiceStable on recorded DescribeServices responses", () => {
  it.each([
    ["motoAfterUpdateTo0", true],
    ["motoAfterUpdateTo3", true],
    ["awsStoppedAt0", true],
    ["awsRunningAt2", true],
    ["motoAfterCreate", false],
    ["awsScaleDownStarted", false],
    ["awsScaleDownDraining", false],
    ["awsScaleUpPending", false],
    ["awsScaleUpOneRunning", false],
    ["awsRollingDeployment", false],
    ["awsRolloutFailed", false],
    ["awsInactive", false],
    ["awsMissing", false],
  ] as const)("%s -> %s", (name, stable) => {
    expect(isServiceStable(response(name))).toBe(stable);
  });

  it("says why a service is not stable yet", () => {
    expect(serviceState(response("awsScaleDownDraining"))).toMatchObject({
      kind: "waiting",
      counts: { desired: 0, running: 1, pending: 0, deployments: 1 },
      reason: "running count differs from desired",
    });
    expect(serviceState(response("awsRollingDeployment"))).toMatchObject({
      kind: "waiting",
      reason: "a deployment is still in progress",
    });
    expect(serviceState(response("awsScaleUpOneRunning"))).toMatchObject({ kind: "waiting" });
  });

  it("reports failures that waiting cannot fix", () => {
    expect(serviceState(response("awsRolloutFailed"))).toMatchObject({
      kind: "failed",
      reason: "deployment failed: ECS deployment circuit breaker: tasks failed to start.",
    });
    expect(serviceState(response("awsInactive"))).toMatchObject({
      kind: "failed",
      reason: "service status is INACTIVE",
    });
    expect(serviceState(response("awsMissing"))).toMatchObject({
      kind: "failed",
      reason: expect.stringContaining("MISSING"),
    });
  });

  it("does not trust a stale deployment rolloutState (moto keeps IN_PROGRESS after a count change)", () => {
    const stale = response("motoAfterUpdateTo0");
    expect(stale.services?.[0].deployments?.[0].rolloutState).toBe("IN_PROGRESS");
    expect(isServiceStable(stale)).toBe(true);
  });
});
