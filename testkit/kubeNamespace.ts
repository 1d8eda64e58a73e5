/**
 * A test file's own namespace on the shared Kubernetes plane (testkit/servers/globalSetup.ts):
 * created before the file's tests, deleted after them.
 */
import { afterAll, beforeAll } from "vitest";
import { sharedPlane, uniqueNamespace, type KubeTestClient } from "./servers/kubernetes";

export interface TestNamespace {
  plane: ReturnType<typeof sharedPlane>;
  /** The plane's admin client. */
  admin: KubeTestClient;
  ns: string;
}

/** Registers the file's beforeAll/afterAll; `ready` gets the namespace once it exists. */
export function withNamespace(prefix: string, ready: (space: TestNamespace) => unknown): void {
  let space: TestNamespace | undefined;
  beforeAll(async () => {
    const plane = sharedPlane();
    space = { plane, admin: plane.client, ns: uniqueNamespace(prefix) };
    await space.admin.createNamespace(space.ns);
    await ready(space);
  });
  afterAll(async () => {
    await space?.admin.delete(`/api/v1/namespaces/${space.ns}`);
  });
}
