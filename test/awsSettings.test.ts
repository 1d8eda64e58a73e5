/**
 * Every source of AWS settings reaches the SDK clients the providers build, against moto: the
 * stack's `aws:*` config through the serialized provider's configure request (as the engine
 * hands it over), the standard environment, a shared-config profile, and `aws:assumeRoles`.
 * moto keeps ECS services per region and per account (an assumed role's keys act in the role's
 * account), so a service is found only when the setting really reached the client.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { afterAll, describe, expect, it } from "vitest";
import { awsClientConfig, awsSettingsFromConfig } from "../lib/aws/settings";
import type { EcsEndpoint } from "../lib/ecs/api";
import { createMotoService } from "../testkit/motoEcs";
import { createDatabase, serverUrl, type TestDatabase } from "../testkit/databases";
import { readTarget } from "../lib/endpoints/targets";
import { createSerialized } from "../testkit/runSerialized";
import { DYNAMIC_TYPES, GATE_TYPES } from "../lib/plan/names";

const moto = process.env.TEST_AWS_ENDPOINT;
if (!moto)
  throw new Error("TEST_AWS_ENDPOINT is not set: moto (testkit/servers/globalSetup.ts) did not start");
const TESTING = { accessKeyId: "testing", secretAccessKey: "testing" };
const dir = mkdtempSync(path.join(os.tmpdir(), "aws-settings-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The child's AWS environment: nothing from this machine, only what a test gives. */
const NO_AWS_ENV = {
  AWS_REGION: undefined,
  AWS_DEFAULT_REGION: undefined,
  AWS_PROFILE: undefined,
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_CONFIG_FILE: path.join(dir, "none"),
  AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "none"),
  AWS_EC2_METADATA_DISABLED: "true",
};
const ENV_KEYS = { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" };

function ecsInputs(cluster: string, service: string, region?: string) {
  return {
    cluster,
    service,
    desiredCount: 0,
    ...(region ? { region } : {}),
    endpoint: moto,
    timeoutSeconds: 20,
    pollSeconds: 0.2,
  };
}

async function serviceIn(region: string, credentials: EcsEndpoint["credentials"] = TESTING) {
  return createMotoService({ endpoint: moto, region, credentials }, "tines-app", 2);
}

async function scaleSerialized(
  inputs: ReturnType<typeof ecsInputs>,
  env: Record<string, string | undefined>,
  config: Record<string, string> = {},
) {
  return createSerialized(DYNAMIC_TYPES.ecsServiceCount, inputs, { env: { ...NO_AWS_ENV, ...env }, config });
}

/** A test's own S3 client of moto, to set up the buckets the program under test then reads. */
const motoS3 = (region: string) =>
  new S3Client({ region, endpoint: moto, forcePathStyle: true, credentials: TESTING });

// Each case starts the serialized provider in a fresh process, as the engine does: 40 s for the
// first case on a quiet machine, so 180 s leaves room for a CI machine busy with the Go builds.
describe("AWS settings reach the ECS client of the serialized provider (moto)", () => {
  it("aws:region from stack config, over AWS_REGION; without it the environment's region is used", async () => {
    const { cluster, service } = await serviceIn("eu-west-2");
    const env = { ...ENV_KEYS, AWS_REGION: "us-east-1" };
    const withConfig = await scaleSerialized(ecsInputs(cluster, service), env, { "aws:region": "eu-west-2" });
    expect(withConfig.ok, withConfig.ok ? "" : withConfig.stderr).toBe(true);
    if (withConfig.ok) expect(withConfig.result.outs).toMatchObject({ previousCount: 2, reachedCount: 0 });

    const withoutConfig = await scaleSerialized(ecsInputs(cluster, service), env);
    expect(withoutConfig.ok).toBe(false);
    if (!withoutConfig.ok) expect(withoutConfig.stderr).toMatch(/not found|ServiceNotFound|ClusterNotFound/i);
  }, 180_000);

  it("AWS_REGION from the environment when the stack sets none", async () => {
    const { cluster, service } = await serviceIn("ap-northeast-1");
    const run = await scaleSerialized(ecsInputs(cluster, service), {
      ...ENV_KEYS,
      AWS_REGION: "ap-northeast-1",
    });
    expect(run.ok, run.ok ? "" : run.stderr).toBe(true);
  }, 180_000);

  it("ecs.region overrides aws:region", async () => {
    const { cluster, service } = await serviceIn("eu-central-1");
    const run = await scaleSerialized(ecsInputs(cluster, service, "eu-central-1"), ENV_KEYS, {
      "aws:region": "us-west-1",
    });
    expect(run.ok, run.ok ? "" : run.stderr).toBe(true);
  }, 180_000);

  it("aws:profile: keys and region come from that profile of the shared files", async () => {
    const { cluster, service } = await serviceIn("sa-east-1");
    const config = path.join(dir, "config");
    const credentials = path.join(dir, "credentials");
    writeFileSync(config, "[profile maint]\nregion = sa-east-1\n");
    writeFileSync(credentials, "[maint]\naws_access_key_id = testing\naws_secret_access_key = testing\n");
    const env = { AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: credentials };
    const run = await scaleSerialized(ecsInputs(cluster, service), env, { "aws:profile": "maint" });
    expect(run.ok, run.ok ? "" : run.stderr).toBe(true);

    // No profile, no keys, no region anywhere: the SDK's own refusal, not a call somewhere else.
    const without = await scaleSerialized(ecsInputs(cluster, service), env);
    expect(without.ok).toBe(false);
    if (!without.ok) expect(without.stderr).toMatch(/region|credential/i);
  }, 180_000);

  it("aws:assumeRoles: calls run with the role's credentials, in the role's account", async () => {
    const roleArn = "arn:aws:iam::111111111111:role/tines-maintenance";
    const roleCredentials = fromTemporaryCredentials({
      masterCredentials: TESTING,
      params: { RoleArn: roleArn, RoleSessionName: "test-setup" },
      clientConfig: { region: "us-east-1", endpoint: moto },
    });
    const { cluster, service } = await serviceIn("us-east-1", await roleCredentials());
    const config = {
      "aws:region": "us-east-1",
      "aws:assumeRoles": JSON.stringify([{ roleArn, sessionName: "maint" }]),
      "aws:endpoints": JSON.stringify([{ sts: moto }]),
    };
    const run = await scaleSerialized(ecsInputs(cluster, service), ENV_KEYS, config);
    expect(run.ok, run.ok ? "" : run.stderr).toBe(true);
    if (run.ok) expect(run.result.outs).toMatchObject({ previousCount: 2, reachedCount: 0 });

    // The same keys without the role act in moto's default account, where the service is not.
    const { "aws:assumeRoles": _dropped, ...withoutRole } = config;
    const direct = await scaleSerialized(ecsInputs(cluster, service), ENV_KEYS, withoutRole);
    expect(direct.ok).toBe(false);
    if (!direct.ok) expect(direct.stderr).toMatch(/not found|ServiceNotFound|ClusterNotFound/i);
  }, 180_000);
});

describe("AWS settings reach the S3 and Secrets Manager clients of the endpoint targets (moto)", () => {
  const keys = { databaseHost: "DATABASE_HOST", redisUrl: "REDIS_URL" };

  it("Secrets Manager: aws:region picks the region the secret lives in", async () => {
    const secretId = `tines-env-${Date.now()}`;
    const client = new SecretsManagerClient({ region: "eu-west-3", endpoint: moto, credentials: TESTING });
    await client.send(
      new CreateSecretCommand({
        Name: secretId,
        SecretString: JSON.stringify({ DATABASE_HOST: "db-paris" }),
      }),
    );
    const aws = awsSettingsFromConfig(
      (key) => ({ "aws:region": "eu-west-3", "aws:accessKey": "testing", "aws:secretKey": "testing" })[key],
    );
    const target = { kind: "secrets-manager" as const, secretId, endpoint: moto };
    expect(await readTarget(target, keys, aws)).toEqual({ databaseHost: "db-paris" });
    const elsewhere = { ...aws, region: "us-east-1" };
    await expect(readTarget(target, keys, elsewhere)).rejects.toThrow(
      /can't find|not found|ResourceNotFound/i,
    );
  });

  it("S3: aws:endpoints and aws:accessKey reach the client when the target names neither", async () => {
    const bucket = `tines-env-${Date.now()}`;
    const client = motoS3("us-east-1");
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: "tines.env", Body: "DATABASE_HOST=db-s3\n" }),
    );
    const config: Record<string, string> = {
      "aws:region": "us-east-1",
      "aws:accessKey": "testing",
      "aws:secretKey": "testing",
      "aws:endpoints": JSON.stringify([{ s3: moto }]),
    };
    const aws = awsSettingsFromConfig((key) => config[key]);
    expect(await readTarget({ kind: "s3-env-file", bucket, key: "tines.env" }, keys, aws)).toEqual({
      databaseHost: "db-s3",
    });
  });
});

describe("AWS settings reach the S3 client of the serialized database-backup provider (moto)", () => {
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await database?.drop();
  });

  it("uploads to the bucket through aws:endpoints and aws:accessKey alone (no s3Endpoint, no AWS_* variables)", async () => {
    database = await createDatabase(serverUrl("TEST_PG_SOURCE_URL"), "awsset");
    const bucket = `tines-backups-${Date.now()}`;
    const client = motoS3("eu-west-1");
    await client.send(
      new CreateBucketCommand({
        Bucket: bucket,
        CreateBucketConfiguration: { LocationConstraint: "eu-west-1" },
      }),
    );
    const inputs = {
      url: database.url,
      stack: "aws",
      phase: "shutdown",
      s3Bucket: bucket,
      compressLevel: 1,
      trigger: "",
    };
    const config = {
      "aws:region": "eu-west-1",
      "aws:accessKey": "testing",
      "aws:secretKey": "testing",
      "aws:endpoints": JSON.stringify([{ s3: moto }]),
    };
    const run = await createSerialized(GATE_TYPES["database-backup"].resources.dump, inputs, {
      env: NO_AWS_ENV,
      config,
      timeoutMs: 110_000,
    });
    expect(run.ok, run.ok ? "" : run.stderr).toBe(true);
    if (!run.ok) return;
    const key = String(run.result.outs.s3Uri).replace(`s3://${bucket}/`, "");
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.ContentLength).toBe(run.result.outs.bytes);

    // Without the stack's settings the SDK has no endpoint, region or keys: it fails, uploading nothing.
    const without = await createSerialized(
      GATE_TYPES["database-backup"].resources.dump,
      { ...inputs, trigger: "2" },
      { env: NO_AWS_ENV, timeoutMs: 110_000 },
    );
    expect(without.ok).toBe(false);
  }, 240_000);
});

describe("awsClientConfig precedence (the AWS provider's)", () => {
  const env = { AWS_REGION: "env-region", AWS_ACCESS_KEY_ID: "env-key", AWS_SECRET_ACCESS_KEY: "env-secret" };

  it("region: call-site override, then aws:region, then AWS_REGION, then AWS_DEFAULT_REGION", () => {
    expect(awsClientConfig({ region: "cfg" }, "ecs", { region: "override" }, env).region).toBe("override");
    expect(awsClientConfig({ region: "cfg" }, "ecs", {}, env).region).toBe("cfg");
    expect(awsClientConfig({}, "ecs", {}, env).region).toBe("env-region");
    expect(awsClientConfig({}, "ecs", {}, { AWS_DEFAULT_REGION: "default-region" }).region).toBe(
      "default-region",
    );
    // With a profile the SDK reads the region from it; a fallback would hide it.
    expect(
      awsClientConfig({ profile: "p" }, "s3", { fallbackRegion: "us-east-1" }, {}).region,
    ).toBeUndefined();
    expect(awsClientConfig({}, "s3", { fallbackRegion: "us-east-1" }, {}).region).toBe("us-east-1");
  });

  it("credentials: aws:accessKey before everything; environment keys before the SDK chain", async () => {
    const statics = awsClientConfig({ accessKey: "cfg-key", secretKey: "cfg-secret" }, "ecs", {}, env);
    expect(statics.credentials).toEqual({ accessKeyId: "cfg-key", secretAccessKey: "cfg-secret" });
    const fromEnv = awsClientConfig({}, "ecs", {}, env).credentials;
    expect(typeof fromEnv).toBe("function");
    expect(awsClientConfig({}, "ecs", {}, {}).credentials).toBeUndefined();
  });

  it("endpoints: the call site's endpoint, then aws:endpoints for that service", () => {
    const settings = awsSettingsFromConfig(
      (key) =>
        ({ "aws:endpoints": JSON.stringify([{ ecs: "http://ecs.local", s3: "http://s3.local" }]) })[key],
    );
    expect(awsClientConfig(settings, "ecs", {}, {}).endpoint).toBe("http://ecs.local");
    expect(awsClientConfig(settings, "ecs", { endpoint: "http://vpce" }, {}).endpoint).toBe("http://vpce");
    expect(awsClientConfig(settings, "s3", {}, {})).toMatchObject({
      endpoint: "http://s3.local",
      forcePathStyle: true,
    });
    expect(awsClientConfig(settings, "secretsmanager", {}, {}).endpoint).toBeUndefined();
  });

  it("reads v5's single aws:assumeRole and v7's aws:assumeRoles list", () => {
    const single = awsSettingsFromConfig((key) =>
      key === "aws:assumeRole" ? '{"roleArn":"arn:a"}' : undefined,
    );
    const list = awsSettingsFromConfig((key) =>
      key === "aws:assumeRoles" ? '[{"roleArn":"arn:a"},{"roleArn":"arn:b","duration":"15m"}]' : undefined,
    );
    expect(single.assumeRoles).toEqual([{ roleArn: "arn:a" }]);
    expect(list.assumeRoles).toEqual([{ roleArn: "arn:a" }, { roleArn: "arn:b", duration: "15m" }]);
  });
});
