/**
 * The Kubernetes test plane (testkit/servers/kubernetes.ts), once per `vitest run` that runs a
 * test needing it; TEST_KUBE_DIR holds its kubeconfig and credentials. A TEST_KUBE_DIR that is
 * already set (CI starts one plane for the unit and the e2e runs: testkit/servers/kubePlaneMain.ts)
 * is used as it is. When its binaries are not built, every Kubernetes test fails with
 * TEST_KUBE_ERROR, which names the build command.
 */
import { startKubePlane, type KubePlane } from "./kubernetes";

let plane: KubePlane | undefined;

export async function setup(): Promise<void> {
  if (process.env.TEST_KUBE_DIR) return;
  try {
    plane = await startKubePlane();
    process.env.TEST_KUBE_DIR = plane.dir;
  } catch (error) {
    process.env.TEST_KUBE_ERROR = (error as Error).message.split("\n")[0];
  }
}

export async function teardown(): Promise<void> {
  await plane?.stop();
}
