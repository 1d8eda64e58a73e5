/**
 * Where scripts/build-go-tools.sh put a tool: $TINES_TOOLS_DIR/<directory>, named from the
 * versions in tools/versions.env (and, for helm, tools/pulumi-kubernetes/go.mod), the same
 * files the build reads.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "./projectRoot";

const ROOT = PROJECT_ROOT;

function versionsEnv(key: string): string {
  const text = readFileSync(path.join(ROOT, "tools", "versions.env"), "utf8");
  const match = new RegExp(`^${key}=(\\S+)`, "m").exec(text);
  if (!match) throw new Error(`tools/versions.env has no ${key}`);
  return match[1];
}

/** The helm.sh/helm/v3 version the Kubernetes provider embeds; helm is built at it. */
function providerHelmVersion(): string {
  const goMod = readFileSync(path.join(ROOT, "tools", "pulumi-kubernetes", "go.mod"), "utf8");
  const match = /^\s*helm\.sh\/helm\/v3 (\S+)/m.exec(goMod);
  if (!match) throw new Error("tools/pulumi-kubernetes/go.mod requires no helm.sh/helm/v3");
  return match[1];
}

/**
 * Each build's directory and the script that makes it: etcd is built with the control plane
 * (scripts/go-tools/kubernetes.sh), helm with the provider (scripts/go-tools/pulumi-kubernetes.sh).
 */
const BUILDS = {
  kubernetes: () => `kubernetes-${versionsEnv("KUBERNETES_VERSION")}-etcd-${versionsEnv("ETCD_VERSION")}`,
  kwok: () => `kwok-${versionsEnv("KWOK_VERSION")}`,
  "pulumi-kubernetes": () =>
    `pulumi-kubernetes-${versionsEnv("PULUMI_KUBERNETES_PROVIDER_VERSION")}-helm-${providerHelmVersion()}`,
} as const;

export type GoTool = keyof typeof BUILDS;

/** The tool's install prefix; throws, naming the build command, when it has not been built. */
export function toolPrefix(tool: GoTool, env: NodeJS.ProcessEnv = process.env): string {
  const root = env.TINES_TOOLS_DIR ?? "/var/cache/tines-maintenance";
  const prefix = path.join(root, BUILDS[tool]());
  if (!existsSync(path.join(prefix, ".built"))) {
    throw new Error(`${tool} is not built in ${prefix}; run \`bash scripts/build-go-tools.sh ${tool}\``);
  }
  return prefix;
}

export function toolBin(tool: GoTool, binary: string = tool): string {
  return path.join(toolPrefix(tool), "bin", binary);
}

/**
 * The directory scripts/go-tools/pulumi.sh builds the Pulumi CLI with our language host into:
 * $TINES_TOOLS_DIR/pulumi-<version>-nodejs-<digest>, the digest over the language host's
 * main.go, go.mod and go.sum (as `build-pulumi-cli.sh --language-host-digest` computes it), so
 * that a changed language host is a new cache entry.
 */
export function pulumiToolDir(env: NodeJS.ProcessEnv = process.env): string {
  const mod = path.join(ROOT, "tools", "pulumi-language-nodejs");
  const goMod = readFileSync(path.join(mod, "go.mod"), "utf8");
  const version = /^\s*github\.com\/pulumi\/pulumi\/pkg\/v3 (\S+)/m.exec(goMod)?.[1] ?? "unknown";
  const hash = createHash("sha256");
  for (const file of ["main.go", "go.mod", "go.sum"]) hash.update(readFileSync(path.join(mod, file)));
  const root = env.TINES_TOOLS_DIR ?? "/var/cache/tines-maintenance";
  return path.join(root, `pulumi-${version}-nodejs-${hash.digest("hex").slice(0, 12)}`);
}
