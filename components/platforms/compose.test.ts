import { afterAll, describe, expect, it, vi } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceStep } from "../../lib/plan/plan";
import { known, mockEngine, ServiceStepParent } from "../../testkit/mocks";
import { COMPOSE_POLL_SECONDS, createComposeAdapter } from "./compose";

const engine = mockEngine({
  preview: true,
  state: (r) =>
    r.type.endsWith("compose:Service")
      ? { previousCount: 2, reachedCount: r.inputs.count, containers: 2 }
      : undefined,
});
const registered = engine.registrations;

const dir = mkdtempSync(path.join(os.tmpdir(), "tines-maint-compose-adapter-"));
writeFileSync(
  path.join(dir, "docker-compose.yml"),
  "services:\n  tines-sidekiq:\n    image: tines/tines-app\n",
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const step = (over: Partial<ServiceStep>): ServiceStep => ({
  type: "service",
  name: "tines-sidekiq",
  workloadName: "tines-sidekiq",
  configuredCount: 2,
  targetCount: 0,
  keptRunning: false,
  ...over,
});

describe("createComposeAdapter (preview)", () => {
  it("registers one compose Service named after the service key, under the step", async () => {
    const adapter = createComposeAdapter({
      projectName: "tines",
      projectDirectory: dir,
      dockerHost: "unix:///run/docker.sock",
    });
    const parent = new ServiceStepParent("nginx");
    const scaled = adapter.scaleService(step({ name: "nginx", workloadName: "tines-nginx" }), {
      parent,
      phase: "shutdown",
      timeoutSeconds: 300,
    });
    expect(await known(scaled.resource.urn)).toContain(
      "tines-maintenance:index:ServiceStep$pulumi-nodejs:dynamic/compose:Service::nginx",
    );
    expect(await known(scaled.reachedCount)).toBe(0);
    expect(await known(scaled.previousCount)).toBe(2);
    expect(
      registered.find((r) => r.name === "nginx" && r.type.endsWith("compose:Service"))?.inputs,
    ).toMatchObject({
      projectName: "tines",
      service: "tines-nginx",
      count: 0,
      dockerHost: "unix:///run/docker.sock",
      timeoutSeconds: 300,
      pollSeconds: COMPOSE_POLL_SECONDS,
    });
  });

  it("warns at preview when tines-sidekiq's stop_grace_period is shorter than Sidekiq needs", async () => {
    const warn = vi.spyOn(pulumi.log, "warn").mockResolvedValue(undefined);
    const adapter = createComposeAdapter({ projectName: "tines", projectDirectory: dir });
    adapter.scaleService(step({}), {
      parent: new ServiceStepParent("tines-sidekiq"),
      phase: "shutdown",
      timeoutSeconds: 300,
    });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/^tines-sidekiq: stop_grace_period is 10s \(Compose default/);

    warn.mockClear();
    adapter.scaleService(step({ name: "tines-app", workloadName: "tines-app" }), {
      parent: new ServiceStepParent("tines-app"),
      phase: "shutdown",
      timeoutSeconds: 300,
    });
    adapter.scaleService(step({ targetCount: 2 }), {
      parent: new ServiceStepParent("tines-sidekiq-up"),
      phase: "running",
      timeoutSeconds: 300,
    });
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it("refuses a config without the project", () => {
    expect(() => createComposeAdapter({ projectName: "tines" })).toThrow(
      "tines-maintenance:compose.projectName and compose.projectDirectory are required when platform is compose",
    );
  });
});
