/**
 * Reading and writing DATABASE_HOST / REDIS_URL where each platform keeps them: the
 * Compose `.env` file, the ECS env file object in S3, or the Secrets Manager secret the
 * ECS task definition reads (JSON keys). Only the two keys change; the previous content
 * is kept (a backup file, a backup object, the secret's AWSPREVIOUS version). The
 * Kubernetes targets are written by a server-side-apply patch in the component instead.
 */
import type * as S3 from "@aws-sdk/client-s3";
import type * as SecretsManager from "@aws-sdk/client-secrets-manager";
import { awsClientConfig, type AwsSettings } from "../aws/settings";
import { MaintenanceError, isMaintenanceError, oneLine } from "../errors";
import { redactSecrets } from "../redact";
import { backupSuffix, readEnvValue, rewriteEnvFile, rewriteEnvText } from "./envFile";
import type { EndpointTarget } from "./config";

/** A target as the provider receives it: the env-file path is already resolved. */
export type TargetSpec = Exclude<EndpointTarget, { kind: "env-file" }> | { kind: "env-file"; path: string };

export interface EndpointKeys {
  databaseHost: string;
  redisUrl: string;
}

export interface EndpointValues {
  databaseHost?: string;
  redisUrl?: string;
}

export interface WriteResult {
  changed: boolean;
  /** Where the previous content is kept: a file, `s3://bucket/key`, or a secret version id. */
  backup?: string;
  previous: EndpointValues;
}

function toVariables(keys: EndpointKeys, values: EndpointValues): Record<string, string> {
  const out: Record<string, string> = {};
  if (values.databaseHost !== undefined) out[keys.databaseHost] = values.databaseHost;
  if (values.redisUrl !== undefined) out[keys.redisUrl] = values.redisUrl;
  return out;
}

function fromVariables(keys: EndpointKeys, read: (key: string) => string | undefined): EndpointValues {
  const databaseHost = read(keys.databaseHost);
  const redisUrl = read(keys.redisUrl);
  return {
    ...(databaseHost !== undefined ? { databaseHost } : {}),
    ...(redisUrl !== undefined ? { redisUrl } : {}),
  };
}

export function describeTarget(target: TargetSpec): string {
  switch (target.kind) {
    case "env-file":
      return target.path;
    case "s3-env-file":
      return `s3://${target.bucket}/${target.key}`;
    case "secrets-manager":
      return `Secrets Manager secret ${target.secretId}`;
    case "kubernetes-secret":
      return `Secret ${target.namespace ?? "(namespace)"}/${target.name}`;
    case "kubernetes-configmap":
      return `ConfigMap ${target.namespace ?? "(namespace)"}/${target.name}`;
  }
}

/** The target's own `region` / `endpoint` override the stack's `aws:*` settings. */
function s3Client(target: Extract<TargetSpec, { kind: "s3-env-file" }>, aws: AwsSettings): S3.S3Client {
  const { S3Client } = require("@aws-sdk/client-s3") as typeof S3;
  return new S3Client(awsClientConfig(aws, "s3", { ...target, fallbackRegion: "us-east-1" }));
}

function secretsClient(
  target: Extract<TargetSpec, { kind: "secrets-manager" }>,
  aws: AwsSettings,
): SecretsManager.SecretsManagerClient {
  const { SecretsManagerClient } = require("@aws-sdk/client-secrets-manager") as typeof SecretsManager;
  return new SecretsManagerClient(
    awsClientConfig(aws, "secretsmanager", { ...target, fallbackRegion: "us-east-1" }),
  );
}

async function readS3Text(client: S3.S3Client, bucket: string, key: string) {
  const { GetObjectCommand } = require("@aws-sdk/client-s3") as typeof S3;
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { text: (await object.Body?.transformToString("utf8")) ?? "", object };
}

function parseSecretJson(text: string | undefined, secretId: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text ?? "");
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // fall through: the message must not echo the secret's content
  }
  throw new MaintenanceError(
    `endpoint-switch: Secrets Manager secret ${secretId} is not a JSON object of environment variables`,
  );
}

/** What the target holds now; undefined where this module cannot read it (Kubernetes). Never writes. */
export async function readTarget(
  target: TargetSpec,
  keys: EndpointKeys,
  aws: AwsSettings = {},
): Promise<EndpointValues | undefined> {
  switch (target.kind) {
    case "env-file": {
      const { readFileSync } = require("node:fs") as typeof import("node:fs");
      const text = readFileSync(target.path, "utf8");
      return fromVariables(keys, (key) => readEnvValue(text, key));
    }
    case "s3-env-file": {
      const { text } = await readS3Text(s3Client(target, aws), target.bucket, target.key);
      return fromVariables(keys, (key) => readEnvValue(text, key));
    }
    case "secrets-manager": {
      const { GetSecretValueCommand } = require("@aws-sdk/client-secrets-manager") as typeof SecretsManager;
      const secret = await secretsClient(target, aws).send(
        new GetSecretValueCommand({ SecretId: target.secretId }),
      );
      const json = parseSecretJson(secret.SecretString, target.secretId);
      return fromVariables(keys, (key) =>
        typeof json[key] === "string" ? (json[key] as string) : undefined,
      );
    }
    default:
      return undefined;
  }
}

/** Write the values into the target; unchanged values write nothing. Errors never carry the values. */
export async function writeTarget(
  target: TargetSpec,
  keys: EndpointKeys,
  values: EndpointValues,
  now = new Date(),
  aws: AwsSettings = {},
): Promise<WriteResult> {
  const variables = toVariables(keys, values);
  try {
    return await write(target, keys, variables, now, aws);
  } catch (error) {
    if (isMaintenanceError(error)) throw error;
    const text = oneLine(error);
    throw new MaintenanceError(
      `endpoint-switch: writing ${describeTarget(target)} failed: ${redactSecrets(text, [values.redisUrl])}`,
    );
  }
}

async function write(
  target: TargetSpec,
  keys: EndpointKeys,
  variables: Record<string, string>,
  now: Date,
  aws: AwsSettings,
): Promise<WriteResult> {
  switch (target.kind) {
    case "env-file": {
      const result = rewriteEnvFile(target.path, variables, now);
      return {
        changed: result.changed,
        ...(result.backupPath ? { backup: result.backupPath } : {}),
        previous: fromVariables(keys, (key) => result.previous[key]),
      };
    }
    case "s3-env-file": {
      const { CopyObjectCommand, PutObjectCommand } = require("@aws-sdk/client-s3") as typeof S3;
      const client = s3Client(target, aws);
      const { text, object } = await readS3Text(client, target.bucket, target.key);
      const rewrite = rewriteEnvText(text, variables);
      const previous = fromVariables(keys, (key) => rewrite.previous[key]);
      if (!rewrite.changed) return { changed: false, previous };
      // A copy beside it, whether or not the bucket keeps versions.
      const backupKey = `${target.key}.bak-${backupSuffix(now)}`;
      await client.send(
        new CopyObjectCommand({
          Bucket: target.bucket,
          Key: backupKey,
          CopySource: `${target.bucket}/${target.key.split("/").map(encodeURIComponent).join("/")}`,
        }),
      );
      await client.send(
        new PutObjectCommand({
          Bucket: target.bucket,
          Key: target.key,
          Body: rewrite.text,
          ContentType: object.ContentType ?? "text/plain",
          ...(object.ServerSideEncryption ? { ServerSideEncryption: object.ServerSideEncryption } : {}),
          ...(object.SSEKMSKeyId ? { SSEKMSKeyId: object.SSEKMSKeyId } : {}),
        }),
      );
      return { changed: true, backup: `s3://${target.bucket}/${backupKey}`, previous };
    }
    case "secrets-manager": {
      const { GetSecretValueCommand, PutSecretValueCommand } =
        require("@aws-sdk/client-secrets-manager") as typeof SecretsManager;
      const client = secretsClient(target, aws);
      const current = await client.send(new GetSecretValueCommand({ SecretId: target.secretId }));
      const json = parseSecretJson(current.SecretString, target.secretId);
      const previous = fromVariables(keys, (key) =>
        typeof json[key] === "string" ? (json[key] as string) : undefined,
      );
      if (Object.entries(variables).every(([key, value]) => json[key] === value))
        return { changed: false, previous };
      // The old version stays readable under the AWSPREVIOUS stage.
      await client.send(
        new PutSecretValueCommand({
          SecretId: target.secretId,
          SecretString: JSON.stringify({ ...json, ...variables }),
        }),
      );
      return {
        changed: true,
        ...(current.VersionId ? { backup: `version ${current.VersionId} (AWSPREVIOUS)` } : {}),
        previous,
      };
    }
    default:
      return { changed: false, previous: {} };
  }
}
