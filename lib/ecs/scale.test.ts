import { describe, expect, it } from "vitest";
import { virtualClock } from "../../testkit/virtualClock";
import type { DescribeServicesCommandOutput } from "@aws-sdk/client-ecs";
import { MaintenanceError } from "../errors";
import { createEcsApi, type EcsApi, type ScalableTargetBounds } from "./api";
import { scaleEcsService } from "./scale";
import { createMotoService, motoEndpoint } from "../../testkit/motoEcs";
import recorded from "./testdata/describeServices.json";
import { recordingReporter } from "../../testkit/recordingReporter";

type Recorded = keyof typeof recorded;

/** DescribeServices answers one recorded response per call, repeating the last one. */
function scriptedApi(...sequence: Recorded[]): EcsApi & { updates: number[]; describes: number } {
  let index = 0;
  const api = {
    updates: [] as number[],
    describes: 0,
    describeService: async () => {
      api.describes++;
      const name = sequence[Math.min(index++, sequence.length - 1)];
      return structuredClone(recorded[name]) as unknown as DescribeServicesCommandOutput;
    },
    setDesiredCount: async (_c: string, _s: string, n: number) => void api.updates.push(n),
    describeScalableTarget: async () => undefined,
    setScalableTargetBounds: async () => undefined,
  };
  return api;
}

const request = { cluster: "tines", service: "tines-app", timeoutSeconds: 60, pollSeconds: 5 };

describe("scaleEcsService on a scripted sequence of recorded responses", () => {
  it("waits through a scale-down until no task runs, reporting counts and time left", async () => {
    const api = scriptedApi("awsRunningAt2", "awsScaleDownStarted", "awsScaleDownDraining", "awsStoppedAt0");
    const reporter = recordingReporter();
    const clock = virtualClock();
    const result = await scaleEcsService(api, { ...request, desiredCount: 0 }, reporter, clock);
    expect(result).toEqual({ previousCount: 2, reachedCount: 0 });
    expect(api.updates).toEqual([0]);
    expect(api.describes).toBe(4);
    expect(clock.slept).toEqual([5000, 5000]);
    expect(reporter.lines).toEqual([
      'ECS service "tines-app" (cluster tines): desired count 2 -> 0',
      'ECS service "tines-app" (cluster tines): running 2/0, pending 0, 1 deployment, waiting for 0 (running count differs from desired); 1m00s left',
      'ECS service "tines-app" (cluster tines): running 1/0, pending 0, 1 deployment, waiting for 0 (running count differs from desired); 55s left',
    ]);
  });

  it("waits through a scale-up until every task runs", async () => {
    const api = scriptedApi("awsStoppedAt0", "awsScaleUpPending", "awsScaleUpOneRunning", "awsRunningAt2");
    const result = await scaleEcsService(
      api,
      { ...request, desiredCount: 2 },
      recordingReporter(),
      virtualClock(),
    );
    expect(result).toEqual({ previousCount: 0, reachedCount: 2 });
  });

  it("is not finished while a second deployment is still rolling", async () => {
    const api = scriptedApi("awsRunningAt2", "awsRollingDeployment", "awsRollingDeployment", "awsRunningAt2");
    const clock = virtualClock();
    await scaleEcsService(api, { ...request, desiredCount: 2 }, recordingReporter(), clock);
    expect(api.updates).toEqual([]);
    expect(clock.slept).toHaveLength(2);
  });

  it("fails after the timeout, naming the service and the last counts", async () => {
    const api = scriptedApi("awsRunningAt2", "awsScaleDownDraining");
    const promise = scaleEcsService(
      api,
      { ...request, desiredCount: 0, timeoutSeconds: 30 },
      recordingReporter(),
      virtualClock(),
    );
    await expect(promise).rejects.toThrow(MaintenanceError);
    await expect(promise).rejects.toThrow(
      'ECS service "tines-app" (cluster tines) did not become stable at desired count 0 within 30s: ' +
        "last running 1/0, pending 0, 1 deployment (running count differs from desired)",
    );
  });

  it("fails at once on a failed rollout instead of waiting it out", async () => {
    const api = scriptedApi("awsStoppedAt0", "awsRolloutFailed");
    const clock = virtualClock();
    await expect(
      scaleEcsService(api, { ...request, desiredCount: 2 }, recordingReporter(), clock),
    ).rejects.toThrow("deployment failed: ECS deployment circuit breaker");
    expect(clock.slept).toEqual([]);
  });

  it("refuses a service that does not exist, changing nothing", async () => {
    const api = scriptedApi("awsMissing");
    await expect(
      scaleEcsService(api, { ...request, desiredCount: 0 }, recordingReporter(), virtualClock()),
    ).rejects.toThrow(/ECS service "tines-app" \(cluster tines\): MISSING .*the service must already exist/);
    expect(api.updates).toEqual([]);
  });
});

describe("scaleEcsService against moto", () => {
  const endpoint = motoEndpoint();
  const api = createEcsApi(endpoint);

  it("sets desiredCount of an existing service and reads it back (moto: runningCount follows at once)", async () => {
    const { cluster, service } = await createMotoService(endpoint, "tines-sidekiq", 2);
    const reporter = recordingReporter();
    const down = await scaleEcsService(
      api,
      { cluster, service, desiredCount: 0, timeoutSeconds: 10, pollSeconds: 0.1 },
      reporter,
    );
    expect(down).toEqual({ previousCount: 2, reachedCount: 0 });
    const live = (await api.describeService(cluster, service)).services?.[0];
    expect(live).toMatchObject({ desiredCount: 0, runningCount: 0, pendingCount: 0, status: "ACTIVE" });
    // moto leaves the deployment as it was created: the reason stability ignores rolloutState.
    expect(live?.deployments?.[0]).toMatchObject({ rolloutState: "IN_PROGRESS", desiredCount: 2 });

    const up = await scaleEcsService(
      api,
      { cluster, service, desiredCount: 3, timeoutSeconds: 10, pollSeconds: 0.1 },
      reporter,
    );
    expect(up).toEqual({ previousCount: 0, reachedCount: 3 });
    expect((await api.describeService(cluster, service)).services?.[0]).toMatchObject({
      desiredCount: 3,
      runningCount: 3,
    });
  });

  it("times out on a service whose tasks never start (moto: a new service stays pending)", async () => {
    const { cluster, service } = await createMotoService(endpoint, "tines-app", 2);
    const reporter = recordingReporter();
    await expect(
      scaleEcsService(
        api,
        { cluster, service, desiredCount: 2, timeoutSeconds: 1, pollSeconds: 0.2 },
        reporter,
      ),
    ).rejects.toThrow(
      `ECS service "tines-app" (cluster ${cluster}) did not become stable at desired count 2 within 1s: last running 0/2, pending 2`,
    );
    expect(reporter.lines[0]).toMatch(/running 0\/2, pending 2, 1 deployment, waiting for 2 .*left$/);
  });

  it("refuses a missing service without creating it", async () => {
    const { cluster } = await createMotoService(endpoint, "tines-app", 1);
    await expect(
      scaleEcsService(
        api,
        { cluster, service: "tines-nginx", desiredCount: 0, timeoutSeconds: 5, pollSeconds: 0.1 },
        recordingReporter(),
      ),
    ).rejects.toThrow(/ECS service "tines-nginx" .*MISSING/);
    expect((await api.describeService(cluster, "tines-nginx")).services).toEqual([]);
  });

  it("pins an auto scaling target to 0 for shutdown and puts its bounds back with the count", async () => {
    const { cluster, service } = await createMotoService(endpoint, "tines-app", 2);
    const bounds: ScalableTargetBounds = { minCapacity: 1, maxCapacity: 4 };
    await api.setScalableTargetBounds(cluster, service, bounds);
    const opts = { cluster, service, timeoutSeconds: 10, pollSeconds: 0.1 };

    const down = await scaleEcsService(api, { ...opts, desiredCount: 0 }, recordingReporter());
    expect(down).toEqual({
      previousCount: 2,
      reachedCount: 0,
      savedBounds: bounds,
      scalableTarget: { minCapacity: 0, maxCapacity: 0 },
    });
    expect(await api.describeScalableTarget(cluster, service)).toEqual({ minCapacity: 0, maxCapacity: 0 });

    // A second shutdown run must keep the original bounds, not the pinned ones.
    const again = await scaleEcsService(
      api,
      { ...opts, desiredCount: 0, savedBounds: down.savedBounds },
      recordingReporter(),
    );
    expect(again.savedBounds).toEqual(bounds);

    const up = await scaleEcsService(
      api,
      { ...opts, desiredCount: 2, savedBounds: again.savedBounds },
      recordingReporter(),
    );
    expect(up).toEqual({ previousCount: 0, reachedCount: 2, scalableTarget: bounds });
    expect(await api.describeScalableTarget(cluster, service)).toEqual(bounds);
  });
});
