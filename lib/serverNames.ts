/**
 * How messages name a server: by host, port and database, never by its URL. The Pulumi
 * engine masks every occurrence of a secret config value in what it prints, so a message
 * that quotes a password-less URL verbatim (the URL is the secret value) shows `[secret]`
 * exactly where the operator needs the host. These spellings are never a config value.
 */

/** `host:port`, with an IPv6 host in brackets. */
export function hostPort(host: string, port: number | string): string {
  const bare = host.replace(/^\[|\]$/g, "");
  return `${bare.includes(":") ? `[${bare}]` : bare}:${port}`;
}

/** `127.0.0.1:6379 db 0`, ` (TLS)` for rediss://; for an unparsable URL, "". */
export function redisAddress(url: string): string {
  try {
    const parsed = new URL(url);
    const db = Number(parsed.pathname.replace(/^\//, "") || "0");
    const tls = parsed.protocol === "rediss:" ? " (TLS)" : "";
    return `${hostPort(parsed.hostname, parsed.port || "6379")} db ${Number.isFinite(db) ? db : 0}${tls}`;
  } catch {
    return "";
  }
}

/** `Redis 127.0.0.1:6379 db 0`; for an unparsable URL, only `Redis`. */
export function redisServerName(url: string): string {
  const address = redisAddress(url);
  return address ? `Redis ${address}` : "Redis";
}

/** `PostgreSQL 127.0.0.1:5432 database tines`. */
export function pgServerName(target: { host: string; port: number; database: string }): string {
  return `PostgreSQL ${hostPort(target.host, target.port)} database ${target.database}`;
}

/** `tines.example.com:443/is_up`: where an HTTP check goes, without scheme, credentials or query. */
export function httpTargetName(url: string): string {
  try {
    const parsed = new URL(url);
    const port = parsed.port || (parsed.protocol === "https:" ? "443" : "80");
    return `${hostPort(parsed.hostname, port)}${parsed.pathname}`;
  } catch {
    return "the health URL";
  }
}
