/**
 * The real `helm` (built beside the Kubernetes provider by scripts/go-tools/pulumi-kubernetes.sh)
 * against a test plane, with its cache, config and data directories in a temp directory so that
 * the operator's own Helm setup is never read.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { toolBin } from "./goTools";
import { testkitPath } from "./projectRoot";

/** The Tines-shaped test chart (testkit/fixtures/tines-chart). */
export const TINES_TEST_CHART = testkitPath("fixtures", "tines-chart");

export class Helm {
  readonly bin = toolBin("pulumi-kubernetes", "helm");
  private readonly home = mkdtempSync(path.join(os.tmpdir(), "tines-maint-helm-"));

  constructor(private readonly kubeconfig: string) {}

  /** Runs `helm <args>`; rejects with its stderr on a non-zero exit. */
  run(args: string[]): Promise<string> {
    const env = {
      ...process.env,
      KUBECONFIG: this.kubeconfig,
      HELM_CACHE_HOME: path.join(this.home, "cache"),
      HELM_CONFIG_HOME: path.join(this.home, "config"),
      HELM_DATA_HOME: path.join(this.home, "data"),
    };
    return new Promise((resolve, reject) => {
      execFile(this.bin, args, { env, timeout: 120_000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`helm ${args.join(" ")}: ${String(stderr).trim() || error.message}`));
        else resolve(String(stdout));
      });
    });
  }

  /** `helm upgrade --install` of the test chart with `--set` values. */
  upgradeInstall(release: string, namespace: string, values: Record<string, string | number | boolean> = {}) {
    // Strings stay strings (a host name of digits); numbers and booleans are typed.
    const sets = Object.entries(values).flatMap(([key, value]) =>
      typeof value === "string"
        ? ["--set-string", `${key}=${value.replace(/,/g, "\\,")}`]
        : ["--set", `${key}=${value}`],
    );
    return this.run([
      "upgrade",
      "--install",
      release,
      TINES_TEST_CHART,
      "--namespace",
      namespace,
      "--create-namespace",
      ...sets,
    ]);
  }

  cleanup(): void {
    rmSync(this.home, { recursive: true, force: true });
  }
}
