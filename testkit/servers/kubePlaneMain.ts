/**
 * One Kubernetes test plane for several `vitest run`s: CI (.ci/run) starts this once the
 * plane's binaries are built and hands TEST_KUBE_DIR to the unit and the e2e runs
 * (kubePlaneSetup.ts uses a plane that is already there). Prints `TEST_KUBE_DIR=<dir>` once the
 * plane is ready, then holds it until SIGTERM or SIGINT, when it stops every process by PID and
 * removes the directory. Usage: node --import tsx testkit/servers/kubePlaneMain.ts
 */
import { startKubePlane } from "./kubernetes";

async function main(): Promise<void> {
  const plane = await startKubePlane();
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    plane.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdout.write(`TEST_KUBE_DIR=${plane.dir}\n`);
  // Held by the signal handlers; a timer keeps the event loop alive without polling.
  setInterval(() => undefined, 1 << 30);
}

main().catch((error: unknown) => {
  process.stderr.write(`kube plane: ${(error as Error).message}\n`);
  process.exit(1);
});
