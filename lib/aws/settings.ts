/**
 * The AWS settings a Pulumi user already has: `aws:*` stack config (set by hand or by a Pulumi
 * ESC environment), the standard `AWS_*` environment and the shared config files, resolved with
 * the precedence of the Pulumi AWS provider (the Terraform AWS provider underneath): provider
 * configuration first, then the environment, then the shared files, then container and instance
 * credentials. The dynamic providers get the stack config through their configure request (the
 * engine hands dynamic providers the whole stack config), so nothing here is frozen into a
 * serialized provider. The SDK is `require`d inside functions, as everywhere in providers.
 */
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@aws-sdk/types";

/** One `aws:assumeRoles` entry (pulumi-aws v6+; v5's single `aws:assumeRole` has the same shape). */
export interface AssumeRoleSettings {
  roleArn: string;
  sessionName?: string;
  externalId?: string;
  /** Go duration as the provider takes it (`1h`, `15m`, `900s`). */
  duration?: string;
  policy?: string;
  policyArns?: string[];
  sourceIdentity?: string;
  tags?: Record<string, string>;
  transitiveTagKeys?: string[];
}

export interface AwsSettings {
  region?: string;
  profile?: string;
  accessKey?: string;
  secretKey?: string;
  token?: string;
  assumeRoles?: AssumeRoleSettings[];
  sharedCredentialsFiles?: string[];
  sharedConfigFiles?: string[];
  /** Per-service endpoint overrides from `aws:endpoints` (keys as the provider names them: ecs, s3, sts...). */
  endpoints?: Record<string, string>;
  s3UsePathStyle?: boolean;
}

/** The services this program calls, by the names `aws:endpoints` uses for them. */
export type AwsService = "ecs" | "applicationautoscaling" | "s3" | "secretsmanager" | "sts";

/** A setting given for one call site (`ecs.region`, `database.backup.s3Region`, ...): it wins. */
export interface AwsOverride {
  region?: string;
  endpoint?: string;
  /** Used only when no setting, variable or profile names a region (keeps older defaults working). */
  fallbackRegion?: string;
}

export interface AwsClientConfig {
  region?: string;
  endpoint?: string;
  profile?: string;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  forcePathStyle?: boolean;
  /** Bounds of every request: an endpoint that never answers fails instead of holding a step. */
  requestHandler?: { connectionTimeout: number; socketTimeout: number };
}

/**
 * Connecting may take 10 s; a request whose socket stays silent 30 s fails (the SDK then retries,
 * 3 attempts in all). The SDK's own default is 15 minutes of silence (smithy's service default
 * socket timeout). Idle time, not a total: a large S3 upload that keeps moving is not cut.
 */
export const AWS_REQUEST_BOUNDS = { connectionTimeout: 10_000, socketTimeout: 30_000 };

const KEYS = [
  "region",
  "profile",
  "accessKey",
  "secretKey",
  "token",
  "assumeRoles",
  "assumeRole",
  "sharedCredentialsFiles",
  "sharedConfigFiles",
  "endpoints",
  "s3UsePathStyle",
] as const;

/** Structured config arrives as JSON text through the configure request, as objects from the program. */
function structured(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const text = value.trim();
  if (!text.startsWith("{") && !text.startsWith("[")) return value;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return value;
  }
}

const text = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

function strings(v: unknown): string[] | undefined {
  const value = structured(v);
  if (!Array.isArray(value)) return undefined;
  const out = value.filter((s): s is string => typeof s === "string" && s !== "");
  return out.length > 0 ? out : undefined;
}

function assumeRole(raw: unknown): AssumeRoleSettings | undefined {
  if (!raw || typeof raw !== "object") return undefined;
  const r = raw as Record<string, unknown>;
  const roleArn = text(r.roleArn);
  if (!roleArn) return undefined;
  const tags =
    r.tags && typeof r.tags === "object"
      ? Object.fromEntries(
          Object.entries(r.tags).filter((e): e is [string, string] => typeof e[1] === "string"),
        )
      : undefined;
  return dropUndefined({
    roleArn,
    sessionName: text(r.sessionName),
    externalId: text(r.externalId),
    duration: text(r.duration),
    policy: text(r.policy),
    policyArns: strings(r.policyArns),
    sourceIdentity: text(r.sourceIdentity),
    tags,
    transitiveTagKeys: strings(r.transitiveTagKeys),
  });
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The `aws:*` settings from stack config. `get` is `req.config.get` of a dynamic provider's
 * configure request, or `new pulumi.Config("aws").get` wrapped by the caller.
 */
export function awsSettingsFromConfig(get: (key: string) => unknown): AwsSettings {
  const raw = Object.fromEntries(KEYS.map((key) => [key, get(`aws:${key}`)])) as Record<
    (typeof KEYS)[number],
    unknown
  >;
  const roles = structured(raw.assumeRoles);
  const single = structured(raw.assumeRole);
  const assumeRoles = (Array.isArray(roles) ? roles : single ? [single] : [])
    .map(assumeRole)
    .filter((r): r is AssumeRoleSettings => r !== undefined);
  const endpointList = structured(raw.endpoints);
  const endpoints: Record<string, string> = {};
  for (const entry of Array.isArray(endpointList) ? endpointList : endpointList ? [endpointList] : []) {
    if (!entry || typeof entry !== "object") continue;
    for (const [service, url] of Object.entries(entry as Record<string, unknown>)) {
      if (typeof url === "string" && url !== "") endpoints[service.toLowerCase()] = url;
    }
  }
  const pathStyle = structured(raw.s3UsePathStyle);
  return dropUndefined({
    region: text(raw.region),
    profile: text(raw.profile),
    accessKey: text(raw.accessKey),
    secretKey: text(raw.secretKey),
    token: text(raw.token),
    assumeRoles: assumeRoles.length > 0 ? assumeRoles : undefined,
    sharedCredentialsFiles: strings(raw.sharedCredentialsFiles),
    sharedConfigFiles: strings(raw.sharedConfigFiles),
    endpoints: Object.keys(endpoints).length > 0 ? endpoints : undefined,
    s3UsePathStyle: pathStyle === true || pathStyle === "true" ? true : undefined,
  });
}

/** `1h`, `15m30s`, `900s` or a bare number of seconds, as AssumeRole's DurationSeconds. */
export function durationSeconds(duration: string | undefined): number | undefined {
  if (!duration) return undefined;
  if (/^\d+$/.test(duration)) return Number(duration);
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(duration);
  if (!match || duration === "") return undefined;
  const [, h, m, s] = match;
  return Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
}

/**
 * Which source supplies each setting, in the AWS provider's order. Region: the call site's
 * override (`ecs.region`, ...), `aws:region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, then the
 * profile's `region` in the shared config file (left to the SDK). Credentials: `aws:accessKey` /
 * `aws:secretKey`, then `aws:profile`, then `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, then
 * the SDK's default chain (`AWS_PROFILE`, shared files, SSO, container, instance). Then every
 * `aws:assumeRoles` entry in order, each assumed with the credentials before it.
 */
export function awsClientConfig(
  settings: AwsSettings,
  service: AwsService,
  override: AwsOverride = {},
  env: NodeJS.ProcessEnv = process.env,
): AwsClientConfig {
  quietNodeVersionWarning();
  const noProfile = !settings.profile && !text(env.AWS_PROFILE);
  const region =
    override.region ??
    settings.region ??
    text(env.AWS_REGION) ??
    text(env.AWS_DEFAULT_REGION) ??
    (noProfile ? override.fallbackRegion : undefined);
  const endpoint = override.endpoint ?? settings.endpoints?.[service];
  const profile = settings.profile;
  const credentials = resolveCredentials(settings, region, env);
  return dropUndefined({
    region,
    endpoint,
    // Lets the SDK take the region (and anything else) from this profile when nothing above set it.
    profile,
    credentials,
    forcePathStyle:
      service === "s3" && (settings.s3UsePathStyle || endpoint !== undefined) ? true : undefined,
    requestHandler: AWS_REQUEST_BOUNDS,
  });
}

function resolveCredentials(
  settings: AwsSettings,
  region: string | undefined,
  env: NodeJS.ProcessEnv,
): AwsCredentialIdentity | AwsCredentialIdentityProvider | undefined {
  const providers =
    require("@aws-sdk/credential-providers") as typeof import("@aws-sdk/credential-providers");
  let base: AwsCredentialIdentity | AwsCredentialIdentityProvider | undefined;
  if (settings.accessKey && settings.secretKey) {
    base = {
      accessKeyId: settings.accessKey,
      secretAccessKey: settings.secretKey,
      ...(settings.token ? { sessionToken: settings.token } : {}),
    };
  } else if (settings.profile) {
    base = providers.fromIni({
      profile: settings.profile,
      ...(settings.sharedCredentialsFiles ? { filepath: settings.sharedCredentialsFiles[0] } : {}),
      ...(settings.sharedConfigFiles ? { configFilepath: settings.sharedConfigFiles[0] } : {}),
    });
  } else if (text(env.AWS_ACCESS_KEY_ID) && text(env.AWS_SECRET_ACCESS_KEY)) {
    // The provider takes environment keys before AWS_PROFILE; the JS SDK's chain does the opposite.
    base = providers.fromEnv();
  }
  for (const role of settings.assumeRoles ?? []) {
    base = providers.fromTemporaryCredentials({
      ...(base ? { masterCredentials: base } : {}),
      params: dropUndefined({
        RoleArn: role.roleArn,
        RoleSessionName: role.sessionName ?? "tines-maintenance",
        ExternalId: role.externalId,
        DurationSeconds: durationSeconds(role.duration),
        Policy: role.policy,
        PolicyArns: role.policyArns?.map((arn) => ({ arn })),
        SourceIdentity: role.sourceIdentity,
        Tags: role.tags ? Object.entries(role.tags).map(([Key, Value]) => ({ Key, Value })) : undefined,
        TransitiveTagKeys: role.transitiveTagKeys,
      }),
      clientConfig: dropUndefined({
        region: region ?? "us-east-1",
        endpoint: settings.endpoints?.sts,
        ...(settings.profile && !base ? { profile: settings.profile } : {}),
      }),
    });
  }
  return base;
}

/** What the settings say, without a secret: for logs and error messages. */
export function describeAwsSettings(settings: AwsSettings): string {
  const parts = [
    settings.region ? `region ${settings.region}` : undefined,
    settings.profile ? `profile ${settings.profile}` : undefined,
    settings.accessKey ? "static keys" : undefined,
    settings.assumeRoles ? `assume ${settings.assumeRoles.map((r) => r.roleArn).join(" -> ")}` : undefined,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(", ") : "the SDK's defaults";
}

/**
 * The AWS SDK's own switch for its NodeVersionSupportWarning (@aws-sdk/core
 * emitWarningIfUnsupportedVersion), which every client constructed on Node.js < 22 prints:
 * 7 lines under every `pulumi up`'s Diagnostics, about SDK releases of 2027, that an operator
 * can do nothing about in a change window. Set before the first client is built; a value
 * the operator set is kept.
 */
export function quietNodeVersionWarning(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
}
