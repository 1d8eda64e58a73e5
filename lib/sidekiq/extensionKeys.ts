/**
 * Keys of Sidekiq Pro and Enterprise in a Sidekiq Redis. The carry copies only what open-source
 * Sidekiq keeps (queues, `schedule`, `retry`, `dead`); these hold state it cannot copy
 * faithfully key by key (batches whose counters and callbacks span many keys, locks with
 * TTLs, jobs a process holds in its private queue), so finding one refuses the carry.
 *
 * Sources, by key:
 *  - `b-<bid>…`, `batches`: Pro batches (Pro-Changes.md 2.0: BIDs are 14 URL-safe base64
 *    characters, 16 hex before; `Sidekiq::BatchSet` counts `batches`);
 *  - `queue:sq|<identity>|<queue>`, `super_processes`, `<identity>:super_queues`: Pro's
 *    super_fetch private queues and their registry (`Sidekiq::Pro::SuperFetch.private_queue`);
 *  - `paused`: Pro's paused queues (Sidekiq's own api.rb reads it for `Queue#paused?`);
 *  - `unique:<sha1 or sha256 hex>`: Enterprise unique-job locks (sidekiq/sidekiq#5002, #5917;
 *    Ent-Changes.md 8.0: SHA1 became SHA256);
 *  - `lmtr-…`: Enterprise rate limiters (Ent-Changes.md 1.5.2: `lmtr-cfree-*`);
 *  - `dear-leader`: Enterprise leader election (Sidekiq's own api.rb `ProcessSet#leader`),
 *    present while an Enterprise cluster runs;
 *  - `periodic`, `loops…`, `loop-…`: Enterprise periodic jobs. Enterprise does not publish
 *    these names; they are the ones reimplementations observe, so `dear-leader` is what
 *    reliably tells an Enterprise Redis.
 */

export interface ExtensionKeyKind {
  product: "Sidekiq Pro" | "Sidekiq Enterprise";
  what: string;
  /** Matches the key name without the redis-namespace prefix. */
  pattern: RegExp;
  /** Why it cannot just be left behind, and what the operator can do. */
  advice: string;
  /** Keys of this kind with a fixed name, checked with EXISTS where no SCAN runs. */
  markers: string[];
}

export const EXTENSION_KEY_KINDS: readonly ExtensionKeyKind[] = [
  {
    product: "Sidekiq Pro",
    what: "batches",
    pattern: /^(b-[A-Za-z0-9_-]{14,}|batches)$/,
    advice: "let the batches finish on the old Redis before the window, or move them yourself",
    markers: ["batches"],
  },
  {
    product: "Sidekiq Pro",
    what: "super_fetch private queues",
    pattern: /^(queue:sq\|.*|super_processes|.+:super_queues)$/,
    advice:
      "they hold jobs a Sidekiq Pro process had fetched; start Sidekiq on the old Redis so that " +
      "super_fetch puts them back in their queues, and let it drain",
    markers: ["super_processes"],
  },
  {
    product: "Sidekiq Pro",
    what: "paused queues",
    pattern: /^paused$/,
    advice: "unpause the queues (their jobs would be carried, the pause would not)",
    markers: ["paused"],
  },
  {
    product: "Sidekiq Enterprise",
    what: "unique-job locks",
    pattern: /^unique:[0-9a-f]{40,64}$/,
    advice: "they expire after each job's unique_for; wait for them, or move them yourself",
    markers: [],
  },
  {
    product: "Sidekiq Enterprise",
    what: "rate limiters",
    pattern: /^lmtr[-:]/,
    advice: "move them yourself if their counts must survive the move",
    markers: [],
  },
  {
    product: "Sidekiq Enterprise",
    what: "periodic jobs",
    pattern: /^(periodic|loops|loops?[-:].+)$/,
    advice: "their registrations and run history would not follow; move them yourself",
    markers: ["periodic", "loops"],
  },
  {
    product: "Sidekiq Enterprise",
    what: "leader election",
    pattern: /^dear-leader$/,
    advice: "an Enterprise cluster uses this Redis; move its other keys yourself",
    markers: ["dear-leader"],
  },
];

export interface ExtensionKeysFound {
  kind: ExtensionKeyKind;
  /** Up to a few names, for the refusal. */
  examples: string[];
  count: number;
}

export interface ExtensionKeyCollector {
  /** True when `name` (namespace already stripped) is a Pro/Enterprise key; it is recorded. */
  add(name: string): boolean;
  results(): ExtensionKeysFound[];
}

/**
 * Sorts key names into the kinds above. A closure, not a class with fields: the dynamic
 * provider serializer drops class field initializers.
 */
export function extensionKeyCollector(): ExtensionKeyCollector {
  const found = new Map<ExtensionKeyKind, ExtensionKeysFound>();
  return {
    add(name) {
      const kind = EXTENSION_KEY_KINDS.find((k) => k.pattern.test(name));
      if (!kind) return false;
      const entry = found.get(kind) ?? { kind, examples: [], count: 0 };
      entry.count += 1;
      if (entry.examples.length < 3) entry.examples.push(name);
      found.set(kind, entry);
      return true;
    },
    results() {
      return EXTENSION_KEY_KINDS.flatMap((k) => {
        const entry = found.get(k);
        return entry ? [{ ...entry, examples: [...entry.examples].sort() }] : [];
      });
    },
  };
}
