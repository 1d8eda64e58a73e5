/**
 * Credentials set without `--secret`. A URL that carries a password (`database.url`,
 * `sidekiq.redisUrl`, `health.url`, `endpoints.redisUrl`, `database.migration.targetUrl`,
 * or any other key holding a URL) and a `password` key are refused unless they are Pulumi
 * secrets: a plain value lands in the stack file, in `pulumi stack history --json` and in the
 * state. One line names each key and the command that sets it as a secret.
 *
 * The program learns which keys are secrets from the engine, per top-level key: Pulumi marks a
 * structured key secret as a whole as soon as one value in it was set with `--secret`, and
 * then keeps the whole of it encrypted. `maint plan` reads the stack file, where each value is
 * encrypted or not on its own, and so checks every path.
 */
import { SECRET_PLACEHOLDER } from "./core";
import { ConfigError } from "../errors";
import { PROJECT_NAME } from "../plan/names";

/** `user:password@` in a URL of any scheme. */
function urlHasPassword(value: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return false;
  try {
    return new URL(value).password !== "";
  } catch {
    return /^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]+@/i.test(value);
  }
}

/** Dotted paths of the values in `raw` that hold a credential (a URL with a password, a `password`). */
export function credentialPaths(raw: unknown, prefix: string[] = []): string[][] {
  if (typeof raw === "string") {
    // An encrypted value as `maint plan` reads the stack file: a secret already.
    if (raw === SECRET_PLACEHOLDER) return [];
    const isPasswordKey = prefix.length > 0 && /password$/i.test(prefix[prefix.length - 1]);
    return (isPasswordKey && raw !== "") || urlHasPassword(raw) ? [prefix] : [];
  }
  if (Array.isArray(raw)) return raw.flatMap((item, i) => credentialPaths(item, [...prefix, String(i)]));
  if (typeof raw === "object" && raw !== null)
    return Object.entries(raw).flatMap(([key, value]) => credentialPaths(value, [...prefix, key]));
  return [];
}

/**
 * Throws one ConfigError naming every credential in `raw` (config keyed without the project
 * prefix) that `isSecret` says is not a secret.
 */
export function assertCredentialsAreSecrets(
  raw: Record<string, unknown>,
  isSecret: (path: string[]) => boolean,
): void {
  const plain = credentialPaths(raw).filter((path) => !isSecret(path));
  if (plain.length === 0) return;
  throw new ConfigError(
    plain
      .map((path) => {
        const key = path.join(".");
        return `${PROJECT_NAME}:${key}: holds a password but is not a secret; set it with \`pulumi config set --secret --path ${key} ...\``;
      })
      .join("; "),
  );
}
