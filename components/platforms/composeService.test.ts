import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import type { ComposeServiceInputs } from "../../lib/compose/inputs";
import { createComposeContainer, startTestEngine, type TestEngine } from "../../testkit/servers/dockerEngine";
import { composeServiceProvider } from "./composeService";

const provider = composeServiceProvider.provider;

let test: TestEngine;
beforeAll(async () => {
  test = await startTestEngine();
}, 120_000);
afterAll(async () => test?.stop());

function inputs(projectName: string, service: string, count: number): ComposeServiceInputs {
  return { projectName, service, count, dockerHost: test.dockerHost, timeoutSeconds: 30, pollSeconds: 0.1 };
}

describe("composeServiceProvider against a real Docker engine", () => {
  it("stops on create, starts on update, and leaves the containers alone on delete", async () => {
    const p = `tines-${randomUUID().slice(0, 8)}`;
    const id = await createComposeContainer(test.engine, { project: p, service: "tines-nginx", number: 1 });
    const created = await provider.create!(inputs(p, "tines-nginx", 0));
    expect(created.id).toBe(`${p}/tines-nginx`);
    expect(created.outs).toMatchObject({ previousCount: 1, reachedCount: 0, containers: 1 });

    const updated = await provider.update!(created.id, created.outs, inputs(p, "tines-nginx", 1));
    expect(updated.outs).toMatchObject({ previousCount: 0, reachedCount: 1 });

    await provider.delete!(created.id, updated.outs);
    const after = await test.engine.inspect(id);
    expect(after.State.Running).toBe(true);
  });

  it("records on refresh a container started outside the stack, so the next update stops it again", async () => {
    const p = `tines-${randomUUID().slice(0, 8)}`;
    const id = await createComposeContainer(test.engine, { project: p, service: "tines-app", number: 1 });
    const created = await provider.create!(inputs(p, "tines-app", 0));
    await test.engine.start(id);
    const read = await provider.read!(created.id, created.outs);
    expect(read.props).toMatchObject({ count: 1 });
    expect(read.inputs).toMatchObject({ service: "tines-app", count: 1 });
    expect((await provider.diff!(created.id, read.props, inputs(p, "tines-app", 0))).changes).toBe(true);
  });
});

describe("composeServiceProvider at preview", () => {
  it("check names each bad input", async () => {
    const result = await provider.check!(
      {},
      {
        projectName: "tines",
        service: "",
        count: 1.5,
        timeoutSeconds: 60,
        pollSeconds: 1,
        dockerHost: "ssh://h",
      },
    );
    expect(result.failures).toEqual([
      { property: "service", reason: "must be a non-empty string" },
      { property: "count", reason: "must be a whole number >= 0" },
      { property: "dockerHost", reason: "must be unix:///path/to/docker.sock or tcp://host:port" },
    ]);
  });

  it("diff: a count change updates, another project replaces", async () => {
    const olds = { projectName: "tines", service: "tines-app", count: 1, timeoutSeconds: 60, pollSeconds: 1 };
    expect(await provider.diff!("tines/tines-app", olds, { ...olds, count: 0 })).toMatchObject({
      changes: true,
      replaces: [],
    });
    expect(await provider.diff!("tines/tines-app", olds, { ...olds, projectName: "tines2" })).toMatchObject({
      replaces: ["projectName"],
    });
    expect(await provider.diff!("tines/tines-app", olds, { ...olds, timeoutSeconds: 5 })).toMatchObject({
      changes: false,
    });
  });
});
