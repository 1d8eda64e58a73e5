/**
 * The endpoint switch writes at the very end of a shutdown, after every service is down. A
 * target it cannot write (a missing project directory, a `.env` that is missing, unreadable or
 * read-only, an S3 object or secret that is not there, a variable the file does not have)
 * would fail only then, with Tines down. So the window record checks it before the first stop,
 * read-only, and refuses naming the key to fix (issue 20, item 8).
 *
 * "Has the keys": Compose substitutes `${DATABASE_HOST}` from `.env` only where the compose
 * file uses it; a variable the target never had is one the deployment does not read from it,
 * and writing it there would change nothing.
 */
import type * as S3 from "@aws-sdk/client-s3";
import type * as SecretsManager from "@aws-sdk/client-secrets-manager";
import { awsClientConfig, type AwsSettings } from "../aws/settings";
import { oneLine } from "../errors";
import { readEnvValue } from "./envFile";
import type { EndpointKeys, TargetSpec } from "./targets";

export interface TargetCheckInputs {
  target: TargetSpec;
  /** The variables the switch will write (their names). */
  writes: string[];
  /** The key an operator fixes for a bad file path: `compose.projectDirectory` or `endpoints.target.path`. */
  pathKey: string;
}

const PREFIX = "tines-maintenance:";

function missingKeys(writes: string[], has: (key: string) => boolean): string[] {
  return writes.filter((key) => !has(key));
}

/** `EPERM: operation not permitted` (Node's message without the path), `NoSuchKey: ...` (AWS). */
function errorCode(error: unknown): string {
  const { code, name } = error as { code?: string; name?: string };
  const message = oneLine(error);
  if (code && message.startsWith(`${code}:`)) return message.split(",")[0];
  const label = code ?? (name && name !== "Error" ? name : undefined);
  return label ? `${label}: ${message}` : message;
}

function checkEnvFile(path: string, writes: string[], pathKey: string): string[] {
  const fs = require("node:fs") as typeof import("node:fs");
  const pathModule = require("node:path") as typeof import("node:path");
  const where = `${PREFIX}${pathKey}: the endpoint switch rewrites ${path}`;
  const dir = pathModule.dirname(path);
  let stat;
  try {
    stat = fs.statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !fs.existsSync(dir))
      return [`${where}, but its directory ${dir} does not exist`];
    if (code === "ENOENT") return [`${where}, but there is no such file`];
    return [`${where}, but it cannot be read (${errorCode(error)})`];
  }
  if (!stat.isFile()) return [`${where}, but it is not a file`];
  const problems: string[] = [];
  let text = "";
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (error) {
    return [`${where}, but it cannot be read (${errorCode(error)})`];
  }
  try {
    fs.accessSync(path, fs.constants.W_OK);
  } catch (error) {
    problems.push(`${where}, but it is not writable (${errorCode(error)})`);
  }
  try {
    // The new file is written beside it and renamed over it; the old one is kept there too.
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (error) {
    problems.push(`${where}, but its directory ${dir} is not writable (${errorCode(error)})`);
  }
  const missing = missingKeys(writes, (key) => readEnvValue(text, key) !== undefined);
  if (missing.length > 0)
    problems.push(`${where}, but it sets no ${missing.join(" or ")} (check endpoints.keys and the file)`);
  return problems;
}

/** Problems with the target, one line each naming the key; none when the switch can write it. */
export async function checkEndpointTarget(
  inputs: TargetCheckInputs,
  aws: AwsSettings = {},
): Promise<string[]> {
  const { target, writes } = inputs;
  switch (target.kind) {
    case "env-file":
      return checkEnvFile(target.path, writes, inputs.pathKey);
    case "s3-env-file": {
      const where = `${PREFIX}endpoints.target: the endpoint switch rewrites s3://${target.bucket}/${target.key}`;
      const { S3Client, GetObjectCommand } = require("@aws-sdk/client-s3") as typeof S3;
      const client = new S3Client(awsClientConfig(aws, "s3", { ...target, fallbackRegion: "us-east-1" }));
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: target.bucket, Key: target.key }), {
          abortSignal: AbortSignal.timeout(15_000),
        });
        const text = (await object.Body?.transformToString("utf8")) ?? "";
        const missing = missingKeys(writes, (key) => readEnvValue(text, key) !== undefined);
        return missing.length > 0 ? [`${where}, but it sets no ${missing.join(" or ")}`] : [];
      } catch (error) {
        return [`${where}, but reading it failed (${errorCode(error)})`];
      } finally {
        client.destroy();
      }
    }
    case "secrets-manager": {
      const where = `${PREFIX}endpoints.target.secretId: the endpoint switch rewrites Secrets Manager secret ${target.secretId}`;
      const { SecretsManagerClient, GetSecretValueCommand } =
        require("@aws-sdk/client-secrets-manager") as typeof SecretsManager;
      const client = new SecretsManagerClient(
        awsClientConfig(aws, "secretsmanager", { ...target, fallbackRegion: "us-east-1" }),
      );
      try {
        const secret = await client.send(new GetSecretValueCommand({ SecretId: target.secretId }), {
          abortSignal: AbortSignal.timeout(15_000),
        });
        let json: Record<string, unknown>;
        try {
          json = JSON.parse(secret.SecretString ?? "") as Record<string, unknown>;
        } catch {
          return [`${where}, but it is not a JSON object of environment variables`];
        }
        const missing = missingKeys(writes, (key) => typeof json?.[key] === "string");
        return missing.length > 0 ? [`${where}, but it sets no ${missing.join(" or ")}`] : [];
      } catch (error) {
        return [`${where}, but reading it failed (${errorCode(error)})`];
      } finally {
        client.destroy();
      }
    }
    default:
      // Kubernetes: the component reads the live Secret/ConfigMap through the provider at preview.
      return [];
  }
}

/** The variable names the switch writes, from what the endpoints config sets. */
export function writtenKeys(
  keys: EndpointKeys,
  sets: { databaseHost: boolean; redisUrl: boolean },
): string[] {
  return [...(sets.databaseHost ? [keys.databaseHost] : []), ...(sets.redisUrl ? [keys.redisUrl] : [])];
}
