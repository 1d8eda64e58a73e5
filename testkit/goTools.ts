/**
 * Where scripts/build-go-tools.sh put a tool: $TINES_TOOLS_DIR/<tool>-<version>, with the
 * version read from tools/versions.env, the same file the build reads.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..");

/** The tools this project builds, and the versions.env key that pins each. */
const VERSION_KEYS = {
  kubernetes: "KUBERNETES_VERSION",
  etcd: "ETCD_VERSION",
  kwok: "KWOK_VERSION",
  helm: "HELM_VERSION",
  "pulumi-kubernetes": "PULUMI_KUBERNETES_PROVIDER_VERSION",
} as const;

export type GoTool = keyof typeof VERSION_KEYS;

export function toolVersion(tool: GoTool): string {
  const text = readFileSync(path.join(ROOT, "tools", "versions.env"), "utf8");
  const key = VERSION_KEYS[tool];
  const match = new RegExp(`^${key}=(\\S+)`, "m").exec(text);
  if (!match) throw new Error(`tools/versions.env has no ${key}`);
  return match[1];
}

/** The tool's install prefix; throws, naming the build command, when it has not been built. */
export function toolPrefix(tool: GoTool, env: NodeJS.ProcessEnv = process.env): string {
  const root = env.TINES_TOOLS_DIR ?? "/var/cache/tines-maintenance";
  const prefix = path.join(root, `${tool}-${toolVersion(tool)}`);
  if (!existsSync(path.join(prefix, ".built"))) {
    throw new Error(
      `${tool} ${toolVersion(tool)} is not built in ${prefix}; run \`bash scripts/build-go-tools.sh ${tool}\``,
    );
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
