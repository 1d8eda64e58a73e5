import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { readTarget, writeTarget, type TargetSpec } from "./targets";

const endpoint = process.env.TEST_AWS_ENDPOINT;
if (!endpoint) throw new Error("TEST_AWS_ENDPOINT must be set by testkit/servers/globalSetup.ts");
// moto accepts any credentials; the SDK only needs some.
process.env.AWS_ACCESS_KEY_ID ??= "testing";
process.env.AWS_SECRET_ACCESS_KEY ??= "testing";
const region = "us-east-1";
const keys = { databaseHost: "DATABASE_HOST", redisUrl: "REDIS_URL" };
const ENV = "# tines\nTINES_VERSION=v1\nDATABASE_HOST=old-db\nREDIS_URL=redis://:oldpw@old-redis:6379/1\n";
/** What ENV holds for the two keys. */
const OLD = { databaseHost: "old-db", redisUrl: "redis://:oldpw@old-redis:6379/1" };
const NEW = { databaseHost: "new-db.internal", redisUrl: "redis://:n3wpw@new-redis:6379/1" };
const suffix = `${process.pid}-${Date.now()}`;

describe("env-file target (real file)", () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), "endpoints-target-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads, writes with a backup, and is idempotent", async () => {
    const target: TargetSpec = { kind: "env-file", path: path.join(dir, ".env") };
    writeFileSync(target.path, ENV);
    expect(await readTarget(target, keys)).toEqual(OLD);
    const result = await writeTarget(target, keys, NEW, new Date("2026-01-01T00:00:00Z"));
    expect(result).toMatchObject({
      changed: true,
      backup: `${target.path}.bak-20260101T000000Z`,
      previous: { databaseHost: "old-db" },
    });
    expect(readFileSync(target.path, "utf8")).toBe(
      "# tines\nTINES_VERSION=v1\nDATABASE_HOST=new-db.internal\nREDIS_URL=redis://:n3wpw@new-redis:6379/1\n",
    );
    expect((await writeTarget(target, keys, NEW)).changed).toBe(false);
  });

  it("fails with the target named and no secret in the message", async () => {
    const target: TargetSpec = { kind: "env-file", path: path.join(dir, "missing", ".env") };
    const error = await writeTarget(target, keys, NEW).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^endpoint-switch: writing .*missing\/\.env failed: ENOENT/);
    expect((error as Error).message).not.toContain("n3wpw");
  });
});

describe("s3-env-file target (moto)", () => {
  const s3 = new S3Client({ region, endpoint, forcePathStyle: true });
  const bucket = `tines-env-${suffix}`;
  const target: TargetSpec = { kind: "s3-env-file", bucket, key: "ecs/tines.env", region, endpoint };

  it("rewrites only the two keys of the existing object and keeps a backup object", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "ecs/tines.env", Body: ENV, ContentType: "text/plain" }),
    );
    expect(await readTarget(target, keys)).toEqual(OLD);

    const result = await writeTarget(target, keys, NEW, new Date("2026-02-03T04:05:06Z"));
    expect(result).toEqual({
      changed: true,
      backup: `s3://${bucket}/ecs/tines.env.bak-20260203T040506Z`,
      previous: OLD,
    });
    const body = async (Key: string) =>
      (await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body?.transformToString()) ?? "";
    expect(await body("ecs/tines.env")).toBe(
      "# tines\nTINES_VERSION=v1\nDATABASE_HOST=new-db.internal\nREDIS_URL=redis://:n3wpw@new-redis:6379/1\n",
    );
    expect(await body("ecs/tines.env.bak-20260203T040506Z")).toBe(ENV);

    const again = await writeTarget(target, keys, NEW);
    expect(again.changed).toBe(false);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual([
      "ecs/tines.env",
      "ecs/tines.env.bak-20260203T040506Z",
    ]);
  });

  it("names a missing object without echoing values", async () => {
    const error = await writeTarget({ ...target, key: "nope.env" }, keys, NEW).catch((e: Error) => e);
    expect((error as Error).message).toMatch(
      new RegExp(`^endpoint-switch: writing s3://${bucket}/nope.env failed: `),
    );
    expect((error as Error).message).not.toContain("n3wpw");
  });
});

describe("secrets-manager target (moto)", () => {
  const sm = new SecretsManagerClient({ region, endpoint });
  const secretId = `tines/env-${suffix}`;
  const target: TargetSpec = { kind: "secrets-manager", secretId, region, endpoint };

  it("sets the two JSON keys in a new version and keeps the previous one as AWSPREVIOUS", async () => {
    const created = await sm.send(
      new CreateSecretCommand({
        Name: secretId,
        SecretString: JSON.stringify({
          DATABASE_PASSWORD: "dbpw",
          DATABASE_HOST: "old-db",
          REDIS_URL: "redis://old:6379/1",
        }),
      }),
    );
    expect(await readTarget(target, keys)).toEqual({
      databaseHost: "old-db",
      redisUrl: "redis://old:6379/1",
    });
    const result = await writeTarget(target, keys, NEW);
    expect(result.changed).toBe(true);
    expect(result.backup).toBe(`version ${created.VersionId} (AWSPREVIOUS)`);
    const current = await sm.send(new GetSecretValueCommand({ SecretId: secretId }));
    expect(JSON.parse(current.SecretString!)).toEqual({
      DATABASE_PASSWORD: "dbpw",
      DATABASE_HOST: NEW.databaseHost,
      REDIS_URL: NEW.redisUrl,
    });
    const previous = await sm.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionStage: "AWSPREVIOUS" }),
    );
    expect(JSON.parse(previous.SecretString!).DATABASE_HOST).toBe("old-db");
    expect((await writeTarget(target, keys, NEW)).changed).toBe(false);
  });

  it("refuses a secret that is not a JSON object, without showing it", async () => {
    await sm.send(new CreateSecretCommand({ Name: `${secretId}-plain`, SecretString: "hunter2-plain" }));
    const error = await writeTarget({ ...target, secretId: `${secretId}-plain` }, keys, NEW).catch(
      (e: Error) => e,
    );
    expect((error as Error).message).toMatch(
      /^endpoint-switch: Secrets Manager secret tines\/env-.*-plain is not a JSON object of environment variables$/,
    );
    expect((error as Error).message).not.toContain("hunter2");
  });
});
