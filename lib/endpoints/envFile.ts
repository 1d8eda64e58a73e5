/**
 * Rewriting the `.env` file Tines reads (Compose, and the ECS env file in S3): only the
 * named variables change; every other line, comment, order and quoting stays byte for byte.
 */

const ASSIGNMENT = /^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)(\s*=\s*)(.*)$/;

interface ParsedValue {
  value: string;
  quote: "" | '"' | "'";
  /** What followed the value on the line (an inline comment), kept as it was. */
  trailer: string;
}

function parseValue(raw: string): ParsedValue {
  const quote = raw[0];
  if (quote === '"' || quote === "'") {
    for (let i = 1; i < raw.length; i++) {
      if (quote === '"' && raw[i] === "\\") {
        i++;
        continue;
      }
      if (raw[i] === quote) {
        const inner = raw.slice(1, i);
        const value = quote === '"' ? inner.replace(/\\(["\\$`])/g, "$1").replace(/\\n/g, "\n") : inner;
        return { value, quote, trailer: raw.slice(i + 1) };
      }
    }
  }
  // Unquoted: an inline comment starts at whitespace followed by `#` (Compose's rule).
  const comment = /\s+#.*$/.exec(raw);
  const valueEnd = comment ? comment.index : raw.length;
  return { value: raw.slice(0, valueEnd).trimEnd(), quote: "", trailer: raw.slice(valueEnd) };
}

function needsQuotes(value: string): boolean {
  return /[\s#"'`$\\]/.test(value) || value === "";
}

/** Write `value` in the quoting style the line had, falling back to double quotes when that cannot hold it. */
function formatValue(value: string, quote: ParsedValue["quote"]): string {
  if (quote === "'" && !value.includes("'") && !value.includes("\n")) return `'${value}'`;
  if (quote === "" && !needsQuotes(value)) return value;
  return `"${value.replace(/(["\\$`])/g, "\\$1").replace(/\n/g, "\\n")}"`;
}

/** Value of each assignment of `key` (the last one wins, as in Compose). */
export function readEnvValue(text: string, key: string): string | undefined {
  let found: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const match = ASSIGNMENT.exec(line);
    if (match && match[2] === key) found = parseValue(match[4]).value;
  }
  return found;
}

export interface EnvRewrite {
  text: string;
  /** Each key's value before the rewrite (undefined: it was not in the file). */
  previous: Record<string, string | undefined>;
  changed: boolean;
}

/**
 * Set each key to its value. Every assignment of the key is rewritten in place (keeping
 * `export`, spacing, quoting style and inline comments); a missing key is appended.
 */
export function rewriteEnvText(text: string, values: Record<string, string>): EnvRewrite {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const lines = text === "" ? [] : text.split(/\r?\n/);
  const previous: Record<string, string | undefined> = {};
  for (const key of Object.keys(values)) previous[key] = readEnvValue(text, key);
  const seen = new Set<string>();
  const out = lines.map((line) => {
    const match = ASSIGNMENT.exec(line);
    if (!match || !(match[2] in values)) return line;
    const [, lead, key, equals, rawValue] = match;
    seen.add(key);
    const parsed = parseValue(rawValue);
    if (parsed.value === values[key]) return line;
    return `${lead}${key}${equals}${formatValue(values[key], parsed.quote)}${parsed.trailer}`;
  });
  const missing = Object.keys(values).filter((key) => !seen.has(key));
  if (missing.length > 0) {
    // Keep the file's final newline (or its absence) where it was.
    const endsWithNewline = out.length > 1 && out[out.length - 1] === "";
    if (endsWithNewline) out.pop();
    for (const key of missing) out.push(`${key}=${formatValue(values[key], "")}`);
    if (endsWithNewline || text === "") out.push("");
  }
  const next = out.join(eol);
  return { text: next, previous, changed: next !== text };
}

/** `2026-11-25T13:00:00.123Z` -> `20261125T130000Z`, a suffix that sorts by time. */
export function backupSuffix(now: Date): string {
  return now
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replace(/[-:]/g, "");
}

export interface EnvFileResult {
  path: string;
  changed: boolean;
  previous: Record<string, string | undefined>;
  /** The copy of the file as it was before, when it changed. */
  backupPath?: string;
}

/**
 * Rewrite the keys of an env file on disk. Unchanged values leave the file untouched.
 * Otherwise the old file is kept as `<file>.bak-<UTC time>` and the new one replaces it
 * atomically (temp file in the same directory, fsync, rename) with the old mode and owner.
 */
export function rewriteEnvFile(
  file: string,
  values: Record<string, string>,
  now = new Date(),
): EnvFileResult {
  // Required here, not imported: dynamic providers serialize this module by value.
  const {
    chmodSync,
    chownSync,
    closeSync,
    constants,
    copyFileSync,
    existsSync,
    fsyncSync,
    openSync,
    readFileSync,
    renameSync,
    statSync,
    unlinkSync,
    writeSync,
  } = require("node:fs") as typeof import("node:fs");
  const path = require("node:path") as typeof import("node:path");
  const stat = statSync(file);
  const before = readFileSync(file, "utf8");
  const rewrite = rewriteEnvText(before, values);
  if (!rewrite.changed) return { path: file, changed: false, previous: rewrite.previous };

  let backupPath = `${file}.bak-${backupSuffix(now)}`;
  for (let n = 1; existsSync(backupPath); n++) backupPath = `${file}.bak-${backupSuffix(now)}-${n}`;
  copyFileSync(file, backupPath, constants.COPYFILE_EXCL);
  chmodSync(backupPath, stat.mode & 0o7777);

  const temp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${now.getTime()}`);
  const fd = openSync(temp, "wx", stat.mode & 0o7777);
  try {
    writeSync(fd, rewrite.text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    chmodSync(temp, stat.mode & 0o7777);
    if (process.getuid?.() === 0) chownSync(temp, stat.uid, stat.gid);
    renameSync(temp, file);
  } catch (error) {
    unlinkSync(temp);
    throw error;
  }
  return { path: file, changed: true, previous: rewrite.previous, backupPath };
}
