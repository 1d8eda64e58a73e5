import { describe, expect, it } from "vitest";
import { remainingPostData, restoreList, splitTable } from "./copyPlan";
import { chainLengths, runTasks, type Task } from "./scheduler";

const tick = () => new Promise((r) => setTimeout(r, 5));

function task(id: string, cost: number, after: string[], log: string[]): Task {
  return {
    id,
    cost,
    after,
    run: async (slot) => {
      log.push(`start ${id}@${slot}`);
      await tick();
      log.push(`end ${id}`);
    },
  };
}

describe("the copy scheduler", () => {
  it("starts the longest chain first and never runs a task before what it waits on", async () => {
    const log: string[] = [];
    const tasks = [
      task("copy small", 10, [], log),
      task("copy big", 50, [], log),
      task("index big", 40, ["copy big"], log),
      task("checksum small", 5, ["copy small"], log),
    ];
    expect(chainLengths(tasks).get("copy big")).toBe(90);
    await runTasks(tasks, 1);
    expect(log.filter((l) => l.startsWith("start"))).toEqual([
      "start copy big@0",
      "start index big@0",
      "start copy small@0",
      "start checksum small@0",
    ]);
  });

  it("keeps every slot busy and never more", async () => {
    let running = 0;
    let peak = 0;
    const tasks: Task[] = Array.from({ length: 9 }, (_, i) => ({
      id: `t${i}`,
      cost: 1,
      after: [],
      run: async () => {
        peak = Math.max(peak, ++running);
        await tick();
        running--;
      },
    }));
    await runTasks(tasks, 3);
    expect(peak).toBe(3);
  });

  it("stops starting tasks after a failure and rethrows it once the running ones end", async () => {
    const log: string[] = [];
    const tasks: Task[] = [
      { id: "bad", cost: 9, after: [], run: async () => Promise.reject(new Error("copy failed")) },
      task("slow", 8, [], log),
      task("later", 1, ["slow"], log),
    ];
    await expect(runTasks(tasks, 2)).rejects.toThrow("copy failed");
    expect(log).toEqual(["start slow@1", "end slow"]);
  });

  it("refuses a plan that waits on itself or on nothing known", async () => {
    await expect(runTasks([task("a", 1, ["b"], []), task("b", 1, ["a"], [])], 2)).rejects.toThrow(
      /waits on itself/,
    );
    await expect(runTasks([task("a", 1, ["zzz"], [])], 2)).rejects.toThrow(/waits on unknown zzz/);
  });
});

describe("the copy plan", () => {
  it("splits a table into page ranges that cover it, the last one open-ended", () => {
    const parts = splitTable("public.t", 100 * 8192, 30 * 8192);
    expect(parts.map((p) => p.ctidRange)).toEqual([
      "ctid < '(25,0)'::tid",
      "ctid >= '(25,0)'::tid AND ctid < '(50,0)'::tid",
      "ctid >= '(50,0)'::tid AND ctid < '(75,0)'::tid",
      "ctid >= '(75,0)'::tid",
    ]);
    expect(splitTable("public.t", 10 * 8192, 30 * 8192)).toEqual([
      { id: "public.t#0", table: "public.t", bytes: 10 * 8192 },
    ]);
  });

  it("comments out exactly the items built by the copy, matched by catalog and OID", () => {
    const toc = [
      ";",
      "3340; 1259 16420 INDEX public events_payload postgres",
      "3330; 2606 16410 CONSTRAINT public events events_pkey postgres",
      "3350; 2606 16430 FK CONSTRAINT public events events_story_fkey postgres",
      "3360; 2620 16440 TRIGGER public stories stories_touch postgres",
    ].join("\n");
    expect(restoreList(toc, ["1259 16420", "2606 16430"]).split("\n")).toEqual([
      ";",
      ";3340; 1259 16420 INDEX public events_payload postgres",
      "3330; 2606 16410 CONSTRAINT public events events_pkey postgres",
      ";3350; 2606 16430 FK CONSTRAINT public events events_story_fkey postgres",
      "3360; 2620 16440 TRIGGER public stories stories_touch postgres",
    ]);
  });

  it("leaves nothing for pg_restore when the copy built every post-data item, but keeps their comments", () => {
    const built = ["2606 16390", "1259 16391", "2606 16395"];
    const toc = [
      ";",
      "; Selected TOC Entries:",
      "3206; 2606 16390 CONSTRAINT public t t_pkey postgres",
      "3207; 1259 16391 INDEX public t_v postgres",
      "3209; 2606 16395 FK CONSTRAINT public u u_id_fkey postgres",
    ];
    expect(remainingPostData(toc.join("\n"), built)).toBeUndefined();
    const withComment = [...toc, "3367; 0 0 COMMENT public INDEX t_v postgres"].join("\n");
    expect(
      remainingPostData(withComment, built)
        ?.split("\n")
        .filter((l) => !l.startsWith(";")),
    ).toEqual(["3367; 0 0 COMMENT public INDEX t_v postgres"]);
  });
});
