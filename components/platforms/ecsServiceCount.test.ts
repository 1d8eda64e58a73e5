import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEcsApi } from "../../lib/ecs/api";
import type { EcsServiceCountInputs } from "../../lib/ecs/inputs";
import { createMotoService, motoEndpoint } from "../../testkit/motoEcs";
import { ecsServiceCountProvider } from "./ecsServiceCount";

const provider = ecsServiceCountProvider.provider;

const endpoint = motoEndpoint();
const api = createEcsApi(endpoint);
const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

beforeAll(() => {
  // The provider uses the SDK's default credential chain, as it does under the Pulumi CLI.
  process.env.AWS_ACCESS_KEY_ID = "testing";
  process.env.AWS_SECRET_ACCESS_KEY = "testing";
});
afterAll(() => {
  process.env.AWS_ACCESS_KEY_ID = saved.id;
  process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
});

function inputs(cluster: string, service: string, desiredCount: number): EcsServiceCountInputs {
  return {
    cluster,
    service,
    desiredCount,
    region: "us-east-1",
    endpoint: endpoint.endpoint,
    timeoutSeconds: 10,
    pollSeconds: 0.1,
  };
}

describe("ecsServiceCountProvider against moto", () => {
  it("scales an existing service on create and update, and leaves it alone on delete", async () => {
    const { cluster, service } = await createMotoService(endpoint, "tines-command-runner", 2);
    const created = await provider.create!(inputs(cluster, service, 0));
    expect(created.id).toBe(`${cluster}/${service}`);
    expect(created.outs).toMatchObject({ previousCount: 2, reachedCount: 0, desiredCount: 0 });

    const updated = await provider.update!(created.id, created.outs, inputs(cluster, service, 2));
    expect(updated.outs).toMatchObject({ previousCount: 0, reachedCount: 2 });

    await provider.delete!(created.id, updated.outs);
    const live = (await api.describeService(cluster, service)).services?.[0];
    expect(live).toMatchObject({ status: "ACTIVE", desiredCount: 2 });
  });

  it("records a count changed outside the stack on refresh, so the next update puts it back", async () => {
    const { cluster, service } = await createMotoService(endpoint, "tines-app", 1);
    const created = await provider.create!(inputs(cluster, service, 0));
    await api.setDesiredCount(cluster, service, 3);
    const read = await provider.read!(created.id, created.outs);
    expect(read.props).toMatchObject({ desiredCount: 3 });
    // The inputs too, so that the engine's preview shows `desiredCount: 3 => 0`.
    expect(read.inputs).toMatchObject({ cluster, service, desiredCount: 3 });
    const diff = await provider.diff!(created.id, read.props, inputs(cluster, service, 0));
    expect(diff.changes).toBe(true);
  });

  it("fails create for a service that does not exist, creating nothing", async () => {
    const { cluster } = await createMotoService(endpoint, "tines-app", 1);
    await expect(provider.create!(inputs(cluster, "pypi-server", 0))).rejects.toThrow(
      /"pypi-server".*MISSING/,
    );
    expect((await api.describeService(cluster, "pypi-server")).services).toEqual([]);
  });
});

describe("ecsServiceCountProvider at preview", () => {
  it("check names each bad input", async () => {
    const result = await provider.check!(
      {},
      { cluster: "", service: "tines-app", desiredCount: -1, timeoutSeconds: 0, pollSeconds: 10 },
    );
    expect(result.failures).toEqual([
      { property: "cluster", reason: "must be a non-empty string" },
      { property: "desiredCount", reason: "must be a whole number >= 0" },
      { property: "timeoutSeconds", reason: "must be a whole number >= 1" },
    ]);
  });

  it("diff: a count change updates, another service replaces, a timeout change does nothing", async () => {
    const olds = { ...inputs("tines", "tines-app", 2), previousCount: 2, reachedCount: 2 };
    expect(await provider.diff!("tines/tines-app", olds, inputs("tines", "tines-app", 0))).toMatchObject({
      changes: true,
      replaces: [],
    });
    expect(await provider.diff!("tines/tines-app", olds, inputs("tines", "tines-web", 2))).toMatchObject({
      changes: true,
      replaces: ["service"],
    });
    expect(
      await provider.diff!("tines/tines-app", olds, {
        ...inputs("tines", "tines-app", 2),
        timeoutSeconds: 60,
      }),
    ).toMatchObject({
      changes: false,
    });
  });
});
