/**
 * The AWS SDK prints a 7-line NodeVersionSupportWarning for every client built on Node.js
 * older than 22, and so under every `pulumi up`'s Diagnostics (issue 20, item 9). Every client
 * of the program is built from awsClientConfig, which sets the SDK's own switch first; an
 * operator's own setting of that switch is kept. Real clients, in a fresh Node.js process
 * (the SDK warns once per process).
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "../..");
const nodeMajor = Number(process.versions.node.split(".")[0]);

function buildClient(
  viaSettings: boolean,
  env: Record<string, string | undefined> = {},
): Promise<{ stderr: string; flag: string }> {
  const script = viaSettings
    ? `const { awsClientConfig } = require("./lib/aws/settings");
       const { ECSClient } = require("@aws-sdk/client-ecs");
       new ECSClient(awsClientConfig({}, "ecs", { region: "us-east-1" }));`
    : `const { ECSClient } = require("@aws-sdk/client-ecs"); new ECSClient({ region: "us-east-1" });`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete childEnv[key];
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [
        "--import",
        "tsx",
        "-e",
        `${script}; console.log(process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED)`,
      ],
      { cwd: root, env: childEnv, timeout: 60_000 },
      (error, stdout, stderr) => (error ? reject(error) : resolve({ stderr, flag: stdout.trim() })),
    ),
  );
}

describe.runIf(nodeMajor < 22)("the AWS SDK's Node.js version warning", () => {
  it("is printed by a bare client here (the fault this guards against)", async () => {
    const bare = await buildClient(false, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined });
    expect(bare.stderr).toContain("NodeVersionSupportWarning");
  });

  it("is not printed by a client built from awsClientConfig, and an operator's setting is kept", async () => {
    const ours = await buildClient(true, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined });
    expect(ours.stderr).not.toContain("NodeVersionSupportWarning");
    expect(ours.flag).toBe("true");
    const operator = await buildClient(true, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "false" });
    expect(operator.flag).toBe("false");
    expect(operator.stderr).toContain("NodeVersionSupportWarning");
  });
});
