/**
 * Carry Sidekiq's state from the Redis Tines leaves to the one it moves to: the `schedule`,
 * `retry` and `dead` sorted sets with their scores exactly, every non-empty `queue:<name>` list
 * in order, and the `queues` set, all under the redis-namespace prefix when there is one.
 *
 * Three steps, each usable alone:
 *  - survey (read-only on both sides): what the old Redis holds, what the new one already
 *    holds under the same keys, and every reason to refuse. It runs at preview and before
 *    the first stop, and again right before the copy.
 *  - copy (writes only to the new Redis, only keys the survey cleared): a key the new Redis
 *    lacks goes over whole, with DUMP/RESTORE when the new server reads the old one's
 *    payload format and element by element otherwise; a sorted set or `queues` that the new
 *    Redis holds in part gets only its missing entries (ZADD NX / SADD, so nothing there is
 *    changed). Each key is written in one MULTI/EXEC or one RESTORE: a key is carried whole
 *    or not at all, and a rerun after any interruption finds it either absent or identical.
 *  - verify (read-only on both sides): count and SHA-256 of every carried key, member by
 *    member with its score, read on both sides at once.
 *
 * The old Redis only ever sees reads (SCAN, TYPE, ZCARD/LLEN/SCARD, ZRANGE, LRANGE, SMEMBERS,
 * DUMP, TIME, INFO): a rollback to it loses nothing. Every command has a timeout (the
 * connection's commandTimeout), and an abort closes both connections at once.
 */
import { createHash } from "node:crypto";
import type Redis from "ioredis";
import { GateError, MaintenanceError, isMaintenanceError, oneLine } from "../errors";
import type { ProgressReporter } from "../progress";
import { redactSecrets } from "../redact";
import { redisAddress } from "../serverNames";
import { connectRedis, keyer } from "./api";
import { EXTENSION_KEY_KINDS, extensionKeyCollector, type ExtensionKeysFound } from "./extensionKeys";
import type { HeldJobs } from "./heldJobs";

/** Sidekiq's sorted sets, by name in Redis. */
export const CARRIED_SETS = ["schedule", "retry", "dead"] as const;
export type CarriedSet = (typeof CARRIED_SETS)[number];

type KeyType = "zset" | "list" | "set";

/** The config keys (or CLI flags) the messages name. */
export interface CarryNames {
  from: string;
  to: string;
  namespace: string;
  mode: string;
}

export const PROGRAM_NAMES: CarryNames = {
  from: "sidekiq.redisUrl",
  to: "endpoints.redisUrl",
  namespace: "sidekiq.namespace",
  mode: "sidekiq.onRedisSwitch",
};

export interface CarryTarget {
  /** The Redis Tines leaves (secret). */
  fromUrl: string;
  /** The Redis Tines moves to (secret). */
  toUrl: string;
  /** redis-namespace prefix without the ':', if Sidekiq uses one. */
  namespace?: string;
}

export interface CarryOptions {
  reporter: ProgressReporter;
  signal?: AbortSignal;
  names?: CarryNames;
  /** Prefix of progress lines. */
  label?: string;
  /** Bound of connecting and of every single command. */
  commandTimeoutMs?: number;
  /** Copy keys the new Redis lacks with DUMP/RESTORE where it reads the payload (default true). */
  restore?: boolean;
  /**
   * `all` (default): the survey passes over every key of the old Redis (SCAN), as the
   * pre-check does before the first stop. `named`: only the keys Sidekiq names (`queues`,
   * fixed Pro/Enterprise names), so that the run inside the window costs no pass over a
   * keyspace shared with millions of cache keys.
   */
  scan?: "all" | "named";
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 15_000;
/** Entries per ZRANGE/LRANGE and per ZADD/RPUSH: a few MB per command at Sidekiq's payload sizes. */
const CHUNK = 5_000;
const SCAN_COUNT = 1_000;

/** One refusal: the key it is about and the whole line an operator reads. */
export interface CarryRefusal {
  key: string;
  message: string;
}

export interface QueueSize {
  name: string;
  size: number;
}

/** What the copy does with one key. */
export interface KeyPlan {
  /** Key name without the namespace: `schedule`, `queue:default`, `queues`. */
  name: string;
  type: KeyType;
  oldCount: number;
  newCount: number;
  /** copy: the new Redis lacks it; add: it holds part of it; none: it holds all of it already. */
  action: "copy" | "add" | "none";
  /** For `add`: what the new Redis lacks, as read by the survey. */
  missing?: Entry[];
}

export interface SideInfo {
  /** Where it is, `host:port db N`: never the URL, which is a secret. */
  redis: string;
  version?: string;
  runId?: string;
  db: number;
}

export interface CarrySurvey {
  old: SideInfo;
  new: SideInfo;
  /** Both URLs reach the same server and database: there is nothing to carry. */
  sameRedis: boolean;
  /** The old Redis's server time at the survey, ms since the epoch. */
  at: number;
  /** What the old Redis holds that outlives a drain (every non-empty queue list counted). */
  held: HeldJobs;
  queues: QueueSize[];
  keys: KeyPlan[];
  extensions: ExtensionKeysFound[];
  refusals: CarryRefusal[];
  warnings: string[];
  scannedKeys: number;
  /** Entries the new Redis already holds identically. */
  alreadyThere: number;
  /**
   * The old connection WATCHes every key the survey read: a later EXEC on it fails if any of
   * them changed since, which proves the old side unchanged without reading it again. False
   * when the URL's ACL user may not WATCH (then the verification reads the old side again).
   */
  watched: boolean;
}

interface Entry {
  member: Buffer;
  /** The score as Redis printed it (sorted sets only): written back as is. */
  score?: string;
}

type PipelineResult = Array<[Error | null, unknown]> | null;

function results(raw: PipelineResult): unknown[] {
  if (!raw) throw new Error("Redis closed the connection");
  return raw.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Redis prints scores as its shortest exact form, or `inf`/`-inf`. */
export function scoreValue(text: string): number {
  if (text === "inf" || text === "+inf") return Infinity;
  if (text === "-inf") return -Infinity;
  return Number(text);
}

function dbOf(url: string): number {
  const path = new URL(url).pathname.replace(/^\//, "");
  return path === "" ? 0 : Number(path);
}

function sameAddress(a: string, b: string): boolean {
  const x = new URL(a);
  const y = new URL(b);
  return x.hostname === y.hostname && (x.port || "6379") === (y.port || "6379") && dbOf(a) === dbOf(b);
}

/** `jid 4c3f…` of a Sidekiq job, never its arguments (they may hold secrets). */
function describeEntry(member: Buffer): string {
  try {
    const job = JSON.parse(member.toString("utf8")) as { jid?: unknown; class?: unknown };
    if (typeof job.jid === "string") {
      return `jid ${job.jid}${typeof job.class === "string" ? ` (${job.class})` : ""}`;
    }
  } catch {
    // Not a job payload: say only its size.
  }
  return `an entry of ${member.length} bytes`;
}

const TYPE_OF = (name: string): KeyType =>
  name === "queues" ? "set" : name.startsWith("queue:") ? "list" : "zset";
const TYPE_WORD: Record<KeyType, string> = { zset: "sorted set", list: "list", set: "set" };

async function serverInfo(client: Redis, url: string): Promise<SideInfo> {
  const info: SideInfo = { redis: redisAddress(url) || "?", db: dbOf(url) };
  try {
    const text = await client.info("server");
    info.version = /(?:^|\n)redis_version:(\S+)/.exec(text)?.[1];
    info.runId = /(?:^|\n)run_id:(\S+)/.exec(text)?.[1];
  } catch {
    // INFO may be denied to the URL's ACL user; it only serves the same-server check.
  }
  return info;
}

/** Every key under the prefix, with a progress line every 200k keys. */
async function scanKeys(
  client: Redis,
  prefix: string,
  onKey: (name: string) => void,
  options: { signal?: AbortSignal; progress?: (scanned: number) => void },
): Promise<number> {
  let cursor = "0";
  let scanned = 0;
  const match = prefix ? `${escapeGlob(prefix)}*` : "*";
  do {
    if (options.signal?.aborted) throw new GateError("aborted while scanning the old Redis");
    const [next, keys] = await client.scan(cursor, "MATCH", match, "COUNT", SCAN_COUNT);
    cursor = next;
    for (const key of keys) onKey(key.slice(prefix.length));
    const before = scanned;
    scanned += keys.length;
    if (Math.floor(scanned / 200_000) > Math.floor(before / 200_000)) options.progress?.(scanned);
  } while (cursor !== "0");
  return scanned;
}

/** All entries of a key, in Redis's order (sorted sets by score, then member; lists head first). */
async function readEntries(client: Redis, key: string, type: KeyType, count: number): Promise<Entry[]> {
  if (type === "set") {
    const members = await client.smembersBuffer(key);
    return members.sort(Buffer.compare).map((member) => ({ member }));
  }
  const pipe = client.pipeline();
  for (let start = 0; start < count; start += CHUNK) {
    if (type === "zset") pipe.zrangeBuffer(key, start, start + CHUNK - 1, "WITHSCORES");
    else pipe.lrangeBuffer(key, start, start + CHUNK - 1);
  }
  const chunks = results((await pipe.exec()) as PipelineResult) as Buffer[][];
  const entries: Entry[] = [];
  for (const chunk of chunks) {
    if (type === "zset") {
      for (let i = 0; i < chunk.length; i += 2)
        entries.push({ member: chunk[i], score: chunk[i + 1].toString("latin1") });
    } else {
      for (const member of chunk) entries.push({ member });
    }
  }
  return entries;
}

/** Count and digest of a key's content; scores compared as numbers, so 6.x and 7.x print alike. */
export async function digestKey(
  client: Redis,
  key: string,
  type: KeyType,
): Promise<{ count: number; sha256: string }> {
  const count = Number(
    type === "zset"
      ? await client.zcard(key)
      : type === "list"
        ? await client.llen(key)
        : await client.scard(key),
  );
  const hash = createHash("sha256");
  const entries = count === 0 ? [] : await readEntries(client, key, type, count);
  for (const e of entries) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(e.member.length);
    hash.update(length).update(e.member);
    if (e.score !== undefined) hash.update(`${scoreValue(e.score)}\n`);
  }
  return { count: entries.length, sha256: hash.digest("hex") };
}

/**
 * Whether both sides serialize a key to the same DUMP payload: that payload is the whole value
 * (every member and its exact score), so equal payloads prove equal content in two commands.
 * Unequal payloads prove nothing (another server version, or a list or set whose internal
 * layout differs), and the caller compares entry by entry. DUMP only reads.
 */
export async function sameDump(from: Redis, to: Redis, key: string): Promise<boolean> {
  try {
    const [a, b] = await Promise.all([from.dumpBuffer(key), to.dumpBuffer(key)]);
    return a !== null && b !== null && a.equals(b);
  } catch (error) {
    // An ACL user without DUMP: compare entry by entry.
    if (/NOPERM|no permissions/i.test(oneLine(error))) return false;
    throw error;
  }
}

/**
 * How the new Redis's content of one key relates to the old one's: what it lacks, and what
 * it holds that the old one does not (extra, or a sorted-set member with another score).
 */
function compareEntries(type: KeyType, oldEntries: Entry[], newEntries: Entry[]) {
  if (type === "list") {
    const same =
      oldEntries.length === newEntries.length &&
      oldEntries.every((e, i) => e.member.equals(newEntries[i].member));
    return same
      ? { missing: [] as Entry[], foreign: [] as Entry[] }
      : { missing: oldEntries, foreign: newEntries, listDiffers: true };
  }
  const old = new Map(oldEntries.map((e) => [e.member.toString("latin1"), e]));
  const present = new Set<string>();
  const foreign: Entry[] = [];
  for (const e of newEntries) {
    const id = e.member.toString("latin1");
    const mine = old.get(id);
    if (!mine || (type === "zset" && scoreValue(mine.score!) !== scoreValue(e.score!))) foreign.push(e);
    else present.add(id);
  }
  const missing = oldEntries.filter((e) => !present.has(e.member.toString("latin1")));
  return { missing, foreign };
}

function refusalFor(names: CarryNames, toRedis: string, key: string, what: string): CarryRefusal {
  return {
    key,
    message:
      `${names.to}: the new Redis (${toRedis}) already holds ${what} under \`${key}\`; ` +
      `empty \`${key}\` there, or point ${names.to} at a Redis without Sidekiq data, then run again; nothing was changed`,
  };
}

/**
 * The survey: reads both sides, decides what to copy and every reason to refuse. Read-only;
 * it throws only when a side cannot be read (a refusal of its own).
 */
export async function surveyCarry(
  from: Redis,
  to: Redis,
  target: CarryTarget,
  options: Pick<CarryOptions, "reporter" | "signal" | "names" | "label" | "scan">,
): Promise<CarrySurvey> {
  const names = options.names ?? PROGRAM_NAMES;
  const label = options.label ?? "sidekiq-carry";
  const prefix = target.namespace ? `${target.namespace}:` : "";
  const k = keyer(target.namespace);
  const [oldInfo, newInfo] = await Promise.all([
    serverInfo(from, target.fromUrl),
    serverInfo(to, target.toUrl),
  ]);
  const [seconds, micros] = await from.time();
  const at = Math.round(Number(seconds) * 1000 + Number(micros) / 1000);
  const sameRedis =
    oldInfo.db === newInfo.db &&
    (sameAddress(target.fromUrl, target.toUrl) || (!!oldInfo.runId && oldInfo.runId === newInfo.runId));

  // Sidekiq lists its queues in `queues` (its client adds the name with every push); the
  // drain gate and Sidekiq's API read queues from there too.
  const [oldQueueNames, newQueueNames] = await Promise.all([
    from.smembers(k("queues")),
    sameRedis ? Promise.resolve([] as string[]) : to.smembers(k("queues")),
  ]);
  const registered = new Set(oldQueueNames);
  const queueKeys = new Set([...oldQueueNames, ...newQueueNames].map((q) => `queue:${q}`));
  const extensions = extensionKeyCollector();
  const otherPrefixes = new Map<string, string>();
  let scannedKeys = 0;
  if ((options.scan ?? "all") === "all") {
    // One pass over the old keyspace: queue lists `queues` does not name, Pro/Enterprise keys,
    // and keys that look like Sidekiq's under a namespace the config does not name. The new
    // side: Sidekiq's queue names only (it may be a shared Redis full of other keys).
    const scanNew = async () => {
      if (sameRedis) return;
      let cursor = "0";
      do {
        if (options.signal?.aborted) throw new GateError("aborted while scanning the new Redis");
        const [next, keys] = await to.scan(
          cursor,
          "MATCH",
          `${escapeGlob(prefix)}queue:*`,
          "COUNT",
          SCAN_COUNT,
        );
        cursor = next;
        for (const key of keys) queueKeys.add(key.slice(prefix.length));
      } while (cursor !== "0");
    };
    [scannedKeys] = await Promise.all([
      scanKeys(
        from,
        prefix,
        (name) => {
          if (extensions.add(name)) return;
          if (name.startsWith("queue:")) queueKeys.add(name);
          else if (!prefix) {
            const namespaced = /^(.+?):(schedule|retry|dead|queues|queue:.+)$/.exec(name);
            if (namespaced && !otherPrefixes.has(namespaced[1])) otherPrefixes.set(namespaced[1], name);
          }
        },
        {
          signal: options.signal,
          progress: (n) => options.reporter.info(`${label}: scanned ${n} keys of the old Redis`),
        },
      ),
      scanNew(),
    ]);
  } else {
    // Inside the window: no pass over a keyspace that may hold millions of cache keys; the
    // pre-check made it before the first stop. Pro/Enterprise keys with fixed names still refuse.
    const markers = EXTENSION_KEY_KINDS.flatMap((kind) => kind.markers);
    const pipe = from.pipeline();
    for (const marker of markers) pipe.exists(k(marker));
    const found = results((await pipe.exec()) as PipelineResult);
    markers.forEach((marker, i) => {
      if (Number(found[i]) === 1) extensions.add(marker);
    });
  }

  const candidates = [...new Set([...CARRIED_SETS, "queues", ...queueKeys])].sort();
  // WATCH only reads: it marks the keys so that an EXEC on this connection tells whether any changed.
  const watched = await from.watch(...candidates.map(k)).then(
    () => true,
    (error: unknown) => {
      if (/NOPERM|no permissions/i.test(oneLine(error))) return false;
      throw error;
    },
  );
  const typesAndCounts = async (client: Redis) => {
    const pipe = client.pipeline();
    for (const name of candidates) {
      pipe.type(k(name));
      const type = TYPE_OF(name);
      if (type === "zset") pipe.zcard(k(name));
      else if (type === "list") pipe.llen(k(name));
      else pipe.scard(k(name));
    }
    const raw = (await pipe.exec()) as PipelineResult;
    if (!raw) throw new Error("Redis closed the connection");
    // A count fails (WRONGTYPE) where the key has another type: the TYPE beside it says which.
    return raw.map(([error, value], i) => {
      if (error && (i % 2 === 0 || !/WRONGTYPE/.test(error.message))) throw error;
      return error ? 0 : value;
    });
  };
  const [oldRaw, newRaw] = sameRedis
    ? await typesAndCounts(from).then((raw) => [raw, raw])
    : await Promise.all([typesAndCounts(from), typesAndCounts(to)]);
  const nextDue = async (set: CarriedSet) => {
    const first = await from.zrange(k(set), 0, 0, "WITHSCORES");
    return first.length === 2 ? Math.round(scoreValue(first[1]) * 1000) : undefined;
  };

  const refusals: CarryRefusal[] = [];
  const warnings: string[] = [];
  const keys: KeyPlan[] = [];
  const queues: QueueSize[] = [];
  const counts: Record<string, number> = {};
  let alreadyThere = 0;
  for (const [i, name] of candidates.entries()) {
    const type = TYPE_OF(name);
    const oldType = String(oldRaw[2 * i]);
    const newType = String(newRaw[2 * i]);
    // A Redis without the key answers "none" and a count of 0.
    const oldCount = oldType === type ? Number(oldRaw[2 * i + 1]) : 0;
    const newCount = newType === type ? Number(newRaw[2 * i + 1]) : 0;
    if (oldType !== "none" && oldType !== type) {
      if (type === "list") {
        warnings.push(
          `old Redis: \`${k(name)}\` is a ${oldType}, not a Sidekiq queue list; it is not carried`,
        );
        continue;
      }
      refusals.push({
        key: name,
        message:
          `${names.from}: the old Redis holds \`${k(name)}\` as a ${oldType}, not a ${TYPE_WORD[type]}: ` +
          `check that ${names.from} and ${names.namespace} point at Tines' Sidekiq data; nothing was changed`,
      });
      continue;
    }
    if (newType !== "none" && newType !== type) {
      refusals.push(refusalFor(names, newInfo.redis, k(name), `a ${newType}, not a ${TYPE_WORD[type]},`));
      continue;
    }
    if (type === "list" && oldCount > 0 && !registered.has(name.slice("queue:".length))) {
      const queue = name.slice("queue:".length);
      refusals.push({
        key: k(name),
        message:
          `${names.from}: the old Redis holds ${oldCount} job(s) in \`${k(name)}\`, but "${queue}" is not in ` +
          `\`${k("queues")}\`, the set Sidekiq lists its queues in (so the drain gate did not count them either): ` +
          `if they are Tines' jobs, add the name (SADD ${k("queues")} ${queue}) so that Sidekiq's tools and the carry ` +
          "see them, or remove the list; then run again; nothing was changed",
      });
      continue;
    }
    counts[name] = oldCount;
    if (type === "list" && oldCount > 0) queues.push({ name: name.slice("queue:".length), size: oldCount });
    if (oldCount === 0 && newCount === 0) continue;
    if (sameRedis) {
      keys.push({ name, type, oldCount, newCount, action: "none" });
      alreadyThere += oldCount;
      continue;
    }
    if (newCount === 0) {
      keys.push({ name, type, oldCount, newCount, action: "copy" });
      continue;
    }
    // The new Redis holds this key: it must hold nothing the old one does not.
    if (oldCount === newCount && (await sameDump(from, to, k(name)))) {
      alreadyThere += newCount;
      keys.push({ name, type, oldCount, newCount, action: "none" });
      continue;
    }
    const [oldEntries, newEntries] = await Promise.all([
      readEntries(from, k(name), type, oldCount),
      readEntries(to, k(name), type, newCount),
    ]);
    const { missing, foreign, listDiffers } = compareEntries(type, oldEntries, newEntries);
    if (listDiffers) {
      refusals.push(
        refusalFor(
          names,
          newInfo.redis,
          k(name),
          `a queue of ${newCount} job(s) that differs from the old one's ${oldCount}`,
        ),
      );
    } else if (foreign.length > 0) {
      const changed =
        type === "zset" ? foreign.filter((e) => oldEntries.some((o) => o.member.equals(e.member))).length : 0;
      const what =
        `${foreign.length} entr${foreign.length === 1 ? "y" : "ies"} the old Redis does not hold` +
        `${changed > 0 ? ` (${changed} with another score)` : ""}, e.g. ` +
        `${type === "set" ? `queue name "${foreign[0].member.toString("utf8")}"` : describeEntry(foreign[0].member)},`;
      refusals.push(refusalFor(names, newInfo.redis, k(name), what));
    } else {
      alreadyThere += newCount;
      keys.push({ name, type, oldCount, newCount, action: missing.length > 0 ? "add" : "none", missing });
    }
  }

  // Nothing moves between a Redis and itself: neither extensions nor types can be a reason to refuse.
  if (sameRedis) refusals.length = 0;
  for (const found of sameRedis ? [] : extensions.results()) {
    const more =
      found.count > found.examples.length ? ` and ${found.count - found.examples.length} more` : "";
    refusals.push({
      key: found.examples[0],
      message:
        `${names.from}: the old Redis holds ${found.kind.product} ${found.kind.what} ` +
        `(${found.examples.map((e) => `\`${k(e)}\``).join(", ")}${more}), which the carry does not copy: ` +
        `${found.kind.advice}; or set ${names.mode} to discard and move Sidekiq's data yourself; nothing was changed`,
    });
  }
  for (const [other, example] of otherPrefixes) {
    warnings.push(
      `old Redis: \`${example}\` looks like Sidekiq's data under the redis-namespace prefix "${other}"; ` +
        `if Tines' Sidekiq uses it, set ${names.namespace} to ${other}`,
    );
  }
  if (!sameRedis) {
    // A live Sidekiq on the new Redis would run carried jobs at once, in the middle of the
    // window, while the old Redis still holds them for a rollback. Its heartbeat hash tells a
    // live process from a stale `processes` entry (it expires 60 s after the last beat).
    const identities = await to.smembers(k("processes"));
    const live: string[] = [];
    for (const identity of identities) if ((await to.exists(k(identity))) === 1) live.push(identity);
    if (live.length > 0) {
      refusals.push({
        key: k("processes"),
        message:
          `${names.to}: ${live.length} Sidekiq process(es) already run on the new Redis (${newInfo.redis}), ` +
          `e.g. ${live[0]}; they would run the carried jobs at once, in the middle of the window: stop them, ` +
          `or point ${names.to} at a Redis no Tines uses yet, then run again; nothing was changed`,
      });
    }
  }
  const queued = queues.reduce((sum, q) => sum + q.size, 0);
  return {
    old: oldInfo,
    new: newInfo,
    sameRedis,
    at,
    held: {
      queued,
      scheduled: counts.schedule ?? 0,
      nextScheduledAt: counts.schedule ? await nextDue("schedule") : undefined,
      retries: counts.retry ?? 0,
      nextRetryAt: counts.retry ? await nextDue("retry") : undefined,
      dead: counts.dead ?? 0,
    },
    queues,
    keys,
    extensions: extensions.results(),
    refusals,
    warnings,
    scannedKeys,
    alreadyThere,
    watched,
  };
}

/** A connection per side; a side that cannot be reached is a refusal naming its key. */
async function connectBoth(
  target: CarryTarget,
  options: CarryOptions,
): Promise<{ from?: Redis; to?: Redis; refusals: CarryRefusal[] }> {
  const names = options.names ?? PROGRAM_NAMES;
  const bound = { timeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, signal: options.signal };
  const [from, to] = await Promise.allSettled([
    connectRedis({ url: target.fromUrl }, bound),
    connectRedis({ url: target.toUrl }, bound),
  ]);
  const refusals: CarryRefusal[] = [];
  const unreachable = (which: "from" | "to", reason: unknown, what: string) =>
    refusals.push({
      key: names[which],
      message: `${names[which]}: ${what} cannot be reached: ${oneLine(reason)}; ${
        which === "to" ? "start it or correct" : "correct"
      } ${names[which]}, then run again; nothing was changed`,
    });
  if (from.status === "rejected") unreachable("from", from.reason, "the old Redis");
  if (to.status === "rejected") unreachable("to", to.reason, "the new Redis");
  return {
    from: from.status === "fulfilled" ? from.value : undefined,
    to: to.status === "fulfilled" ? to.value : undefined,
    refusals,
  };
}

/** Close both connections when the signal aborts, so that a pending command ends at once. */
function closeOnAbort(signal: AbortSignal | undefined, clients: Array<Redis | undefined>): () => void {
  const close = () => clients.forEach((c) => c?.disconnect());
  signal?.addEventListener("abort", close, { once: true });
  return () => {
    signal?.removeEventListener("abort", close);
    close();
  };
}

function passwordOf(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

/** One line naming the step, with neither URL's password in it. */
function carryError(error: unknown, target: CarryTarget, context: string): MaintenanceError {
  if (isMaintenanceError(error)) return error;
  const text = redactSecrets(oneLine(error), [passwordOf(target.fromUrl), passwordOf(target.toUrl)]);
  return new MaintenanceError(`${context}: ${text}`);
}

export interface CarryPrecheck {
  survey?: CarrySurvey;
  refusals: CarryRefusal[];
  warnings: string[];
}

/**
 * The read-only pre-check, for preview and before the first stop: every refusal, one line
 * each, and what the old Redis holds. Never writes to either Redis.
 */
export async function precheckCarry(target: CarryTarget, options: CarryOptions): Promise<CarryPrecheck> {
  const { from, to, refusals } = await connectBoth(target, options);
  const release = closeOnAbort(options.signal, [from, to]);
  try {
    if (!from || !to) return { refusals, warnings: [] };
    const survey = await surveyCarry(from, to, target, options);
    return { survey, refusals: survey.refusals, warnings: survey.warnings };
  } catch (error) {
    const label = options.label ?? "sidekiq-carry";
    if (options.signal?.aborted)
      throw new GateError(`${label}: aborted during the pre-check; nothing was changed`);
    throw carryError(error, target, `${label}: the pre-check failed (nothing was changed)`);
  } finally {
    release();
  }
}

/** Count of entries per kind, as the audit keeps them. */
export interface EntryCounts {
  scheduled: number;
  retries: number;
  dead: number;
  queued: number;
}

export interface CarryResult {
  survey: CarrySurvey;
  outcome: "carried" | "nothing-to-carry" | "same-redis";
  /** Entries written to the new Redis by this run. */
  written: EntryCounts;
  /** Entries the new Redis holds after the carry, verified equal to the old Redis. */
  verified: EntryCounts;
  /** How the keys went over: `restore` (DUMP/RESTORE), `elements` (ZADD/RPUSH/SADD), both, or none. */
  method: "restore" | "elements" | "restore+elements" | "none";
  seconds: { survey: number; copy: number; verify: number; total: number };
  warnings: string[];
}

function countsOf(keys: Array<{ name: string; count: number }>): EntryCounts {
  const counts: EntryCounts = { scheduled: 0, retries: 0, dead: 0, queued: 0 };
  for (const { name, count } of keys) {
    if (name === "schedule") counts.scheduled += count;
    else if (name === "retry") counts.retries += count;
    else if (name === "dead") counts.dead += count;
    else if (name.startsWith("queue:")) counts.queued += count;
  }
  return counts;
}

/** Writes one key's entries to the new Redis in one MULTI/EXEC: all of them or none. */
async function writeEntries(to: Redis, key: string, type: KeyType, entries: Entry[]): Promise<void> {
  const tx = to.multi();
  for (let i = 0; i < entries.length; i += CHUNK) {
    const chunk = entries.slice(i, i + CHUNK);
    // NX: never change an entry the new Redis already holds (the survey found it identical).
    if (type === "zset") tx.zadd(key, "NX", ...chunk.flatMap((e) => [e.score!, e.member]));
    else if (type === "list") tx.rpush(key, ...chunk.map((e) => e.member));
    else tx.sadd(key, ...chunk.map((e) => e.member));
  }
  results((await tx.exec()) as PipelineResult);
}

const isPayloadRefused = (error: unknown) => /payload version or checksum/i.test(oneLine(error));

/**
 * Survey, then (when nothing refuses) copy and verify. Throws GateError with every refusal
 * before anything is written, and on a failed verification after it.
 */
export async function carrySidekiqJobs(target: CarryTarget, options: CarryOptions): Promise<CarryResult> {
  const label = options.label ?? "sidekiq-carry";
  const started = performance.now();
  const { from, to, refusals } = await connectBoth(target, options);
  const release = closeOnAbort(options.signal, [from, to]);
  const aborted = (during: string) =>
    new GateError(
      `${label}: aborted during the ${during}; every key is either carried whole or not at all, ` +
        "the old Redis is unchanged, and running again completes the carry",
    );
  let step = "survey";
  try {
    if (!from || !to) throw new GateError(refusals.map((r) => r.message).join("; "));
    const survey = await surveyCarry(from, to, target, options);
    if (survey.refusals.length > 0) throw new GateError(survey.refusals.map((r) => r.message).join("; "));
    for (const warning of survey.warnings) options.reporter.warn(`${label}: ${warning}`);
    const surveyed = performance.now();
    const k = keyer(target.namespace);

    // Queues first, `queues` after them, then the sorted sets: the order Sidekiq's client writes.
    const order = (name: string) => (name.startsWith("queue:") ? 0 : name === "queues" ? 1 : 2);
    step = "copy";
    const work = survey.keys.filter((p) => p.action !== "none").sort((a, b) => order(a.name) - order(b.name));
    options.reporter.info(
      `${label}: ${work.length} key(s) to copy to the new Redis (${survey.new.redis}), ` +
        `${survey.keys.length - work.length} already there (${survey.alreadyThere} entries)`,
    );
    let restoreWorks = options.restore ?? true;
    const methods = new Set<"restore" | "elements">();
    const written: Array<{ name: string; count: number }> = [];
    // The old Redis serializes every key to restore back to back while the new one restores
    // each payload as it arrives.
    const dumps = new Map(
      (restoreWorks ? work.filter((p) => p.action === "copy") : []).map((p) => {
        const payload = from.dumpBuffer(k(p.name));
        // Awaited below in order; a failure before then must not be an unhandled rejection.
        payload.catch(() => undefined);
        return [p.name, payload] as const;
      }),
    );
    const restored = new Map<string, Buffer>();
    for (const plan of work) {
      if (options.signal?.aborted) throw aborted("copy");
      const key = k(plan.name);
      const dump = restoreWorks ? dumps.get(plan.name) : undefined;
      const payload = dump ? await dump : null;
      if (payload) {
        try {
          // No REPLACE: a key that appeared since the survey makes this fail, not vanish.
          await to.restore(key, 0, payload);
          restored.set(plan.name, payload);
          methods.add("restore");
          written.push({ name: plan.name, count: plan.oldCount });
          options.reporter.info(`${label}: copied \`${key}\`: ${plan.oldCount} entries (DUMP/RESTORE)`);
          continue;
        } catch (error) {
          if (!isPayloadRefused(error)) throw error;
          restoreWorks = false;
          options.reporter.info(
            `${label}: the new Redis (${survey.new.version ?? "?"}) does not read the old one's (${survey.old.version ?? "?"}) ` +
              "DUMP format; copying entry by entry",
          );
        }
      }
      const entries =
        plan.action === "add" ? plan.missing! : await readEntries(from, key, plan.type, plan.oldCount);
      await writeEntries(to, key, plan.type, entries);
      methods.add("elements");
      written.push({ name: plan.name, count: entries.length });
      options.reporter.info(
        `${label}: copied \`${key}\`: ${entries.length} ${plan.action === "add" ? "missing " : ""}entries (one MULTI)`,
      );
    }
    const copied = performance.now();

    // Verify what was written, every key at once, both sides read at once. A key the survey
    // found identical was compared on both sides in this run already.
    step = "verification";
    options.reporter.info(`${label}: verifying ${work.length} key(s) on both sides`);
    const verifiedKeys = survey.keys
      .filter((p) => p.action === "none")
      .map((p) => ({ name: p.name, count: p.oldCount }));
    const bothSides = async (plan: KeyPlan) => {
      const key = k(plan.name);
      const [a, b] = await Promise.all([digestKey(from, key, plan.type), digestKey(to, key, plan.type)]);
      if (a.count !== b.count || a.sha256 !== b.sha256) {
        throw new GateError(
          `${label}: verification failed for \`${key}\`: the old Redis holds ${a.count} entries, the new one ${b.count}` +
            `${a.count === b.count ? " with different content" : ""}; something wrote to one of them during the carry ` +
            "(is a Sidekiq or Tines still running?); the old Redis is unchanged; stop the writer and run again",
        );
      }
      return { name: plan.name, count: a.count };
    };
    const verifyKey = async (plan: KeyPlan) => {
      const key = k(plan.name);
      const payload = restored.get(plan.name);
      // A restored key: the new side must serialize to the payload the old side gave, and the
      // old side (watched) must not have changed since; else compare entry by entry.
      if (payload && survey.watched && (await to.dumpBuffer(key))?.equals(payload)) {
        return { name: plan.name, count: plan.oldCount };
      }
      if (await sameDump(from, to, key)) return { name: plan.name, count: plan.oldCount };
      return bothSides(plan);
    };
    if (options.signal?.aborted) throw aborted("verification");
    verifiedKeys.push(...(await Promise.all(work.map(verifyKey))));
    // EXEC fails (null) if any watched key of the old Redis changed since the survey read it.
    if (survey.watched && (await from.multi().ping().exec()) === null) {
      for (const plan of survey.keys) await bothSides(plan);
      throw new GateError(
        `${label}: verification failed: the old Redis changed during the carry (one of ${survey.keys.map((p) => `\`${k(p.name)}\``).join(", ")}); ` +
          "something wrote to it (is a Sidekiq or Tines still running?); the old Redis is unchanged by the carry; stop the writer and run again",
      );
    }
    const verified = performance.now();
    const method =
      methods.size === 2 ? "restore+elements" : methods.size === 1 ? [...methods][0] : ("none" as const);
    const total = survey.keys.reduce((sum, p) => sum + p.oldCount, 0);
    const seconds = (a: number, b: number) => Math.round(b - a) / 1000;
    return {
      survey,
      outcome: survey.sameRedis ? "same-redis" : total === 0 ? "nothing-to-carry" : "carried",
      written: countsOf(written),
      verified: countsOf(verifiedKeys),
      method,
      seconds: {
        survey: seconds(started, surveyed),
        copy: seconds(surveyed, copied),
        verify: seconds(copied, verified),
        total: seconds(started, verified),
      },
      warnings: survey.warnings,
    };
  } catch (error) {
    if (options.signal?.aborted && !isMaintenanceError(error)) throw aborted(step);
    throw carryError(
      error,
      target,
      `${label}: the ${step} failed (every key is carried whole or not at all, the old Redis is unchanged; ` +
        "running again completes the carry)",
    );
  } finally {
    release();
  }
}
