/**
 * The GitHub Actions workflow cannot run here; this checks what it promises: previews with
 * the plan on pull requests, `up` only on manual dispatch behind an environment with the
 * operator's message, the seed's policy pack on both, and no secret or untrusted text
 * expanded into a shell script.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const FILE = path.resolve(__dirname, "../.github/workflows/maintenance.yml");

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  if?: string;
  needs?: string | string[];
  environment?: string | { name: string };
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<
    string,
    { inputs?: Record<string, { required?: boolean; type?: string; options?: string[] }> } | null
  >;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  jobs: Record<string, Job>;
}

const workflow = parse(fs.readFileSync(FILE, "utf8"), { strict: true, uniqueKeys: true }) as Workflow;
const jobs = Object.entries(workflow.jobs);
const allSteps = jobs.flatMap(([job, j]) => j.steps.map((step) => ({ job, step })));

function pulumiStep(job: Job, command: string): Step {
  const steps = job.steps.filter((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command === command);
  expect(steps, `one pulumi/actions step with command ${command}`).toHaveLength(1);
  return steps[0];
}

/** The job that runs `pulumi <command>`. */
function jobRunning(command: string): Job {
  const found = jobs.filter(([, j]) =>
    j.steps.some((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command === command),
  );
  expect(found, `one job runs pulumi ${command}`).toHaveLength(1);
  return found[0][1];
}

describe(".github/workflows/maintenance.yml", () => {
  it("is triggered by pull requests and by manual dispatch only", () => {
    expect(Object.keys(workflow.on).sort()).toEqual(["pull_request", "workflow_dispatch"]);
  });

  it("asks for the stack and the message (who, why, ticket) on dispatch; the phase is an optional choice", () => {
    const inputs = workflow.on.workflow_dispatch!.inputs!;
    expect(inputs.stack.required).toBe(true);
    expect(inputs.message.required).toBe(true);
    expect(inputs.message.type).toBe("string");
    expect(inputs.phase.required).toBe(false);
    expect(inputs.phase.type).toBe("choice");
    expect(inputs.phase.options).toEqual(["", "shutdown", "running"]);
  });

  it("previews on pull requests with Pulumi's official action, commenting on the pull request, policy pack on", () => {
    const preview = jobRunning("preview");
    const upstream = workflow.jobs[String(preview.needs)];
    expect(`${preview.if} ${upstream?.if}`).toContain("github.event_name == 'pull_request'");
    const step = pulumiStep(preview, "preview");
    expect(step.uses).toBe("pulumi/actions@v6");
    expect(step.with?.["comment-on-pr"]).toBe(true);
    expect(step.with?.policyPacks).toBe("policy");
    expect(preview.permissions?.["pull-requests"]).toBe("write");
  });

  it("posts the output of `npm run -s maint -- plan` on the pull request before the preview", () => {
    const preview = jobRunning("preview");
    const planIndex = preview.steps.findIndex((s) =>
      /npm run -s maint -- plan --stack "\$STACK"/.test(s.run ?? ""),
    );
    const commentIndex = preview.steps.findIndex(
      (s) => s.uses?.startsWith("actions/github-script@") && /createComment/.test(String(s.with?.script)),
    );
    const previewIndex = preview.steps.indexOf(pulumiStep(preview, "preview"));
    expect(planIndex).toBeGreaterThanOrEqual(0);
    expect(commentIndex).toBeGreaterThan(planIndex);
    expect(previewIndex).toBeGreaterThan(commentIndex);
    expect(String(preview.steps[commentIndex].with?.script)).toContain('readFileSync("plan.txt"');
  });

  it("runs `up` only on manual dispatch, behind an environment, with the message as --message", () => {
    const up = jobRunning("up");
    expect(up.if).toBe("github.event_name == 'workflow_dispatch'");
    expect(up.environment).toBeTruthy();
    const step = pulumiStep(up, "up");
    expect(step.uses).toBe("pulumi/actions@v6");
    expect(String(step.with?.message)).toMatch(/^\$\{\{ format\('\{0\}.*', inputs\.message, github\.actor/);
    expect(step.with?.policyPacks).toBe("policy");
    expect(step.with?.upsert).toBe(false);
    expect(String(step.with?.["stack-name"])).toContain("inputs.stack");
    const planIndex = up.steps.findIndex((s) =>
      /npm run -s maint -- plan --stack "\$STACK"/.test(s.run ?? ""),
    );
    expect(planIndex, "the plan validates the stack before the update").toBeGreaterThanOrEqual(0);
    expect(planIndex).toBeLessThan(up.steps.indexOf(step));
    expect(up.steps[planIndex].run).toMatch(/set -o pipefail/);
  });

  it("never cancels an update in progress and runs one update per stack at a time", () => {
    expect(workflow.concurrency?.["cancel-in-progress"]).toBe(false);
    expect(workflow.concurrency?.group).toContain("inputs.stack");
  });

  it("keeps secrets and untrusted text out of shell scripts, passing them through env", () => {
    for (const { job, step } of allSteps) {
      const script = `${step.run ?? ""}\n${String(step.with?.script ?? "")}`;
      expect(script, `${job}/${step.name ?? step.uses}`).not.toMatch(/\$\{\{/);
    }
    const secretUses = allSteps.flatMap(({ step }) =>
      Object.entries({ ...step.env, ...step.with }).filter(([, v]) => /secrets\./.test(String(v))),
    );
    expect(secretUses.length).toBeGreaterThan(0);
    for (const [key, value] of secretUses) {
      expect(String(value), key).toMatch(/^\$\{\{ secrets\.[A-Z_]+ \}\}$/);
    }
    expect(workflow.permissions).toEqual({ contents: "read" });
  });

  it("pins every action to a major version", () => {
    for (const { step } of allSteps.filter(({ step }) => step.uses)) {
      expect(step.uses).toMatch(/^[\w-]+\/[\w-]+@v\d+$/);
    }
  });

  it("has github-script code that parses as the async function the action wraps it in", () => {
    const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor;
    const scripts = allSteps.filter(({ step }) => step.uses?.startsWith("actions/github-script@"));
    expect(scripts.length).toBeGreaterThan(0);
    for (const { step } of scripts) {
      expect(
        () => new AsyncFunction("require", "github", "context", String(step.with?.script)),
      ).not.toThrow();
    }
  });

  it("has shell scripts that bash accepts", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-"));
    try {
      for (const [index, { job, step }] of allSteps.entries()) {
        if (!step.run) continue;
        const file = path.join(dir, `${index}.sh`);
        fs.writeFileSync(file, step.run);
        expect(
          () => execFileSync("bash", ["-n", file], { stdio: "pipe" }),
          `${job}/${step.name}`,
        ).not.toThrow();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
