/**
 * Every AWS call has a bound (issue 20, item 2: every network call): the SDK's own default
 * waits 15 minutes on an endpoint that accepts the connection and never answers. A real ECS
 * client built from awsClientConfig, against a real black-holing TCP listener, one attempt.
 */
import { DescribeClustersCommand, ECSClient } from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBlackHole, type BlackHole } from "../../testkit/blackHole";
import { AWS_REQUEST_BOUNDS, awsClientConfig } from "./settings";

let hole: BlackHole;
beforeAll(async () => {
  hole = await startBlackHole();
});
afterAll(() => hole.close());

describe("AWS calls against an endpoint that never answers", () => {
  it("fail once the request has been silent for the bound", async () => {
    const client = new ECSClient({
      ...awsClientConfig({ accessKey: "k", secretKey: "s" }, "ecs", {
        endpoint: `http://127.0.0.1:${hole.port}`,
        region: "us-east-1",
      }),
      maxAttempts: 1,
    });
    const started = Date.now();
    const error = await client
      .send(new DescribeClustersCommand({ clusters: ["tines"] }))
      .catch((e: Error) => e);
    const seconds = (Date.now() - started) / 1000;
    client.destroy();
    expect(error).toBeInstanceOf(Error);
    expect(hole.accepted()).toBe(1);
    expect(seconds).toBeGreaterThan(AWS_REQUEST_BOUNDS.socketTimeout / 1000 - 1);
    expect(seconds).toBeLessThan(AWS_REQUEST_BOUNDS.socketTimeout / 1000 + 5);
  }, 50_000);
});
