import { describe, expect, it } from "vitest";
import deploymentScaledUp from "./testdata/deployment-scaled-up.json";
import deploymentScalingDown from "./testdata/deployment-scaling-down.json";
import hpaList from "./testdata/hpas.json";
import podsTerminating from "./testdata/pods-terminating.json";
import statefulSetRolling from "./testdata/statefulset-rolling.json";
import {
  findHpa,
  gracePeriodWarning,
  hpaNotice,
  livePods,
  rolloutState,
  selectorString,
  type HorizontalPodAutoscaler,
  type Pod,
  type Workload,
} from "./workload";

const clone = <T>(value: T): T => structuredClone(value);
const down = deploymentScalingDown as Workload;
const up = deploymentScaledUp as Workload;
const sts = statefulSetRolling as Workload;
const pods = podsTerminating.items as Pod[];
const hpas = hpaList.items as HorizontalPodAutoscaler[];

describe("selectorString", () => {
  it("joins matchLabels and matchExpressions as the labelSelector parameter spells them", () => {
    expect(selectorString(up.spec.selector)).toBe(
      "app.kubernetes.io/name=tines-sidekiq,tier in (worker,jobs)",
    );
    expect(
      selectorString({
        matchExpressions: [
          { key: "a", operator: "NotIn", values: ["x"] },
          { key: "b", operator: "Exists" },
          { key: "c", operator: "DoesNotExist" },
        ],
      }),
    ).toBe("a notin (x),b,!c");
  });

  it("refuses an empty selector, which would match every pod in the namespace", () => {
    expect(() => selectorString({})).toThrow(/empty pod selector/);
  });
});

describe("rolloutState on the way down", () => {
  it("is not done while a pod is terminating, although the controller already reports 0 replicas", () => {
    // The recorded Deployment has no status.replicas at all: the counters say "done".
    const state = rolloutState(down, pods, 0);
    expect(state).toMatchObject({ done: false, desired: 0, podsLeft: 1 });
    expect(state.waitingFor).toBe("1 pod(s) to terminate");
  });

  it("ignores evicted (Failed) and Succeeded pods, which run nothing", () => {
    expect(livePods(pods).map((p) => p.metadata.name)).toEqual(["tines-app-7c9d8f6b5d-2xk8q"]);
    expect(rolloutState(down, [pods[1]], 0).done).toBe(true);
    expect(rolloutState(down, [], 0)).toMatchObject({ done: true, podsLeft: 0 });
  });

  it("waits for the patch to land and for the controller to observe it", () => {
    const stillThree = clone(down);
    stillThree.spec.replicas = 3;
    expect(rolloutState(stillThree, [], 0)).toMatchObject({
      done: false,
      waitingFor: "spec.replicas to become 0 (is 3)",
    });
    const unobserved = clone(down);
    unobserved.metadata.generation = 15;
    expect(rolloutState(unobserved, [], 0).waitingFor).toBe("the controller to observe the new generation");
  });
});

describe("rolloutState on the way up", () => {
  it("is done when every desired replica is updated and ready", () => {
    expect(rolloutState(up, [], 3)).toMatchObject({ done: true, desired: 3, ready: 3 });
  });

  it("waits for readiness, updates and old replicas", () => {
    const notReady = clone(up);
    notReady.status!.readyReplicas = 1;
    expect(rolloutState(notReady, [], 3).waitingFor).toBe("2 replica(s) to become ready (1/3)");
    const notUpdated = clone(up);
    notUpdated.status!.updatedReplicas = 2;
    expect(rolloutState(notUpdated, [], 3).waitingFor).toBe("1 replica(s) to be updated");
    const surge = clone(up);
    surge.status!.replicas = 4;
    expect(rolloutState(surge, [], 3).waitingFor).toBe("1 old replica(s) to go");
    const scaledToZero = clone(up);
    scaledToZero.spec.replicas = 0;
    expect(rolloutState(scaledToZero, [], 3).done).toBe(false);
  });

  it("counts the live spec.replicas as the target reached when an HPA moved it", () => {
    expect(rolloutState(up, [], 2)).toMatchObject({ done: true, desired: 3 });
  });

  it("waits for a StatefulSet's update revision to become current", () => {
    expect(rolloutState(sts, [], 1)).toMatchObject({
      done: false,
      waitingFor: "revision redis-5f8c9d7b66 to roll out",
    });
    const rolled = clone(sts);
    rolled.status!.currentRevision = rolled.status!.updateRevision;
    expect(rolloutState(rolled, [], 1).done).toBe(true);
  });
});

describe("HPA", () => {
  it("finds the HPA by scaleTargetRef kind and name", () => {
    expect(findHpa(hpas, "Deployment", "tines-sidekiq")?.metadata.name).toBe("tines-sidekiq");
    expect(findHpa(hpas, "StatefulSet", "tines-sidekiq")).toBeUndefined();
    expect(findHpa(hpas, "Deployment", "tines-app")).toBeUndefined();
  });

  it("says nothing when scaling to 0 disables the HPA, warns when minReplicas 0 would not", () => {
    expect(hpaNotice(hpas[0], "tines-sidekiq", 0)).toBeUndefined();
    const toZero = clone(hpas[0]);
    toZero.spec.minReplicas = 0;
    expect(hpaNotice(toZero, "tines-sidekiq", 0)).toMatch(
      /minReplicas 0 lets it scale the workload up again/,
    );
  });

  it("warns when the restored count is outside the HPA's bounds", () => {
    expect(hpaNotice(hpas[0], "tines-sidekiq", 4)).toBeUndefined();
    expect(hpaNotice(hpas[0], "tines-sidekiq", 1)).toMatch(/move the restored count 1 into \[2, 6\]/);
    expect(hpaNotice(hpas[0], "tines-sidekiq", 9)).toMatch(/into \[2, 6\]/);
  });
});

describe("gracePeriodWarning", () => {
  it("accepts Kubernetes' default 30 s against Sidekiq's default 25 s timeout", () => {
    expect(gracePeriodWarning("tines-sidekiq", undefined)).toBeUndefined();
    expect(gracePeriodWarning("tines-sidekiq", 30)).toBeUndefined();
  });

  it("warns when pods would be killed before Sidekiq pushes its jobs back", () => {
    expect(gracePeriodWarning("tines-sidekiq", 20)).toMatch(
      /terminationGracePeriodSeconds is 20s.*at least 30s/,
    );
    expect(gracePeriodWarning("tines-sidekiq", undefined, 60)).toMatch(
      /30s \(Kubernetes default\).*at least 65s/,
    );
  });
});
