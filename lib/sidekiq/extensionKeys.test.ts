import { describe, expect, it } from "vitest";
import { extensionKeyCollector } from "./extensionKeys";

describe("Sidekiq Pro and Enterprise keys", () => {
  it("are told from open-source Sidekiq's own keys and from other applications' keys", () => {
    const collector = extensionKeyCollector();
    const pro = ["b-vTF1-9QvLPnREQ", "b-vTF1-9QvLPnREQ-jids", "b-4a3fc67d30370edf-failinfo", "batches"];
    const superFetch = [
      "queue:sq|app-1:12:abc|default",
      "super_processes",
      "app-1:12:abc:super_queues",
      "paused",
    ];
    const ent = [
      `unique:${"f".repeat(40)}`,
      `unique:${"0".repeat(64)}`,
      "lmtr-cfree-stripe",
      "dear-leader",
      "periodic",
      "loops",
      "loop-9f2a",
    ];
    const oss = [
      "schedule",
      "retry",
      "dead",
      "queues",
      "queue:default",
      "processes",
      "stat:processed",
      "app-1:12:abc",
      "app-1:12:abc:workers",
    ];
    const others = ["b-short", "unique:not-a-digest", "cache:views/1", "session:abc", "periodical-report"];
    for (const name of [...pro, ...superFetch, ...ent]) expect(collector.add(name), name).toBe(true);
    for (const name of [...oss, ...others]) expect(collector.add(name), name).toBe(false);
    expect(collector.results().map((r) => [r.kind.product, r.kind.what, r.count])).toEqual([
      ["Sidekiq Pro", "batches", 4],
      ["Sidekiq Pro", "super_fetch private queues", 3],
      ["Sidekiq Pro", "paused queues", 1],
      ["Sidekiq Enterprise", "unique-job locks", 2],
      ["Sidekiq Enterprise", "rate limiters", 1],
      ["Sidekiq Enterprise", "periodic jobs", 3],
      ["Sidekiq Enterprise", "leader election", 1],
    ]);
    expect(collector.results()[0].examples).toEqual([
      "b-4a3fc67d30370edf-failinfo",
      "b-vTF1-9QvLPnREQ",
      "b-vTF1-9QvLPnREQ-jids",
    ]);
  });
});
