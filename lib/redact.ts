/**
 * Strip credentials from connection URLs (redis://user:pass@host, postgresql://...) so
 * they can appear in logs, errors and outputs.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:***@");
  }
}

/** Replace every occurrence of each secret in `text` (for messages from child processes and drivers). */
export function redactSecrets(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 3) out = out.split(secret).join("***");
  }
  return out;
}
