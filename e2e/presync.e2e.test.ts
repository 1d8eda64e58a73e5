/**
 * A presynced database move under the real Pulumi CLI with the policy pack: the source
 * PostgreSQL is managed (not in services), the application tier on moto ECS. Phase running
 * with `database.migration.presync` copies the database to a second cluster and keeps it
 * current by logical replication while a writer inserts, updates and deletes; the shutdown
 * stops the writer with the app tier, cuts over (catch-up, teardown, sequences, verification)
 * and switches DATABASE_HOST; the startup runs on the new database. Every row is on the new
 * side and nothing of the replication is left on either.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { createDatabase, databaseUrl, withClient } from "../testkit/databases";
import {
  fillForPresync,
  NOTHING_LEFT,
  replicationLeft,
  sequenceValues,
  startWriter,
  type Writer,
} from "../testkit/presync";
import { TEST_PG_PASSWORD, startMoto, startPostgres } from "../testkit/servers";
import { ecsDesiredCounts } from "../testkit/motoEcs";
import { PROJECT_ROOT } from "../testkit/pulumiCli";
import { createEnvSecret, ecsE2e, logRun } from "./ecsStack";

const COUNTS = { "tines-app": 2, "tines-command-runner": 1 };
const SECRET_ID = "tines/presync-env";

/** Row count and an md5 of every row's text, of every user table, by qualified name. */
async function tableContents(url: string): Promise<Record<string, { rows: number; md5: string }>> {
  return withClient(url, async (client) => {
    const tables = await client.query<{ name: string }>(
      `SELECT quote_ident(schemaname) || '.' || quote_ident(relname) AS name FROM pg_stat_user_tables ORDER BY 1`,
    );
    const contents: Record<string, { rows: number; md5: string }> = {};
    for (const { name } of tables.rows) {
      const { rows } = await client.query<{ n: string; md5: string | null }>(
        `SELECT count(*) AS n, md5(string_agg(t::text, E'\\n' ORDER BY t::text)) AS md5 FROM ${name} t`,
      );
      contents[name] = { rows: Number(rows[0].n), md5: rows[0].md5 ?? "" };
    }
    return contents;
  });
}

describe("presync, cut-over and endpoint switch under the real Pulumi CLI", () => {
  /** Tines writing to the source, from the first test until tines-app stops. */
  let writer: Writer | undefined;
  const outputs: string[] = [];
  /** The presync's slot, publication and subscription name. */
  let presyncName = "";

  const env = ecsE2e(async ({ start, afterFile, ecsStack }) => {
    const [sourceServer, targetServer, moto] = await start(
      startPostgres("e2e-presync-source"),
      startPostgres("e2e-presync-target"),
      startMoto(),
    );
    afterFile(() =>
      withClient(targetServer.url, (c) => c.query("DROP DATABASE IF EXISTS tines_new WITH (FORCE)")).catch(
        () => undefined,
      ),
    );
    afterFile(() => writer?.stop().catch(() => undefined));
    const source = await createDatabase(sourceServer.url, "tines_src");
    await fillForPresync(source.url, { rows: 3000, largeRows: 2 });
    // Not created: the presync creates it.
    const targetUrl = databaseUrl(targetServer.url, "tines_new");
    const secret = await createEnvSecret(moto, SECRET_ID, {
      DATABASE_HOST: "old-db.internal",
      RAILS_ENV: "production",
    });
    const { stack, ecs } = await ecsStack({
      stack: "e2e-presync",
      moto,
      counts: COUNTS,
      config: {
        phase: "running",
        "database.backup.enabled": false,
        "database.migration.presync": true,
        "database.migration.jobs": 2,
        "database.migration.catchUpTimeoutSeconds": 120,
      },
    });
    await stack.setSecret("database.url", source.url);
    await stack.setSecret("database.migration.targetUrl", targetUrl);
    return { source, targetUrl, targetServer, secret, stack, ecs };
  });

  it("running sets the copy and the replication up while a writer writes", async () => {
    writer = await startWriter(env.source.url);
    const result = await env.stack.up("e2e: presync while Tines runs");
    const output = logRun("up (running + presync)", result);
    outputs.push(output);
    expect(result.code, output).toBe(0);
    expect(writer.commits).toBeGreaterThan(0);
    const left = await replicationLeft(env.source.url, env.targetUrl);
    expect([left.slots.length, left.publications.length, left.subscriptions.length]).toEqual([1, 1, 1]);
    const audit = (await env.stack.outputs()).audit as { databasePresync?: Record<string, unknown> };
    expect(audit.databasePresync).toMatchObject({
      state: "streaming",
      target: expect.stringContaining("tines_new"),
    });
    presyncName = audit.databasePresync!.name as string;
    expect(await ecsDesiredCounts(env.ecs, Object.keys(COUNTS))).toEqual(COUNTS);
  });

  it("shutdown cuts over once the app tier is down, verifies and switches DATABASE_HOST; nothing is left", async () => {
    const port = Number(new URL(env.targetServer.url).port);
    await env.stack.setConfig({
      phase: "shutdown",
      "endpoints.databaseHost": "127.0.0.1",
      "endpoints.databasePort": port,
      ...env.secret.targetConfig,
      "endpoints.propagation.intervalSeconds": 1,
      "endpoints.propagation.timeoutSeconds": 30,
    });
    // The writer is Tines: it stops when tines-app does.
    let commits = 0;
    const up = env.stack.up("e2e: shutdown, cut over and switch");
    const writerStopped = (async () => {
      for (;;) {
        const counts = await ecsDesiredCounts(env.ecs, ["tines-app"]);
        if (counts["tines-app"] === 0) return (commits = await writer!.stop());
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const result = await up;
    await writerStopped;
    writer = undefined;
    const output = logRun("up (shutdown + cut-over + switch)", result);
    outputs.push(output);
    expect(result.code, output).toBe(0);
    expect(commits).toBeGreaterThan(0);

    const before = await tableContents(env.source.url);
    expect(Object.keys(before).length).toBeGreaterThan(3);
    expect(await tableContents(env.targetUrl)).toEqual(before);
    const [sourceSequences, targetSequences] = await Promise.all([
      sequenceValues(env.source.url),
      sequenceValues(env.targetUrl),
    ]);
    for (const [name, value] of Object.entries(sourceSequences))
      expect(targetSequences[name] >= value, `${name}: ${targetSequences[name]} < ${value}`).toBe(true);
    expect(await replicationLeft(env.source.url, env.targetUrl)).toEqual(NOTHING_LEFT);

    const audit = (await env.stack.outputs()).audit as { databaseMigration?: Record<string, unknown> };
    expect(audit.databaseMigration).toMatchObject({ mismatches: 0, tables: Object.keys(before).length });
    const tinesEnv = await env.secret.read();
    expect(tinesEnv.DATABASE_HOST).toBe("127.0.0.1");
  });

  it("startup refuses a slot of the presync left on the source, at preview and before anything starts; `maint db-presync remove` clears it", async () => {
    // What a cut-over killed past the provider's own clean-up leaves: the presync's slot.
    await withClient(env.source.url, (c) =>
      c.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [presyncName]),
    );
    await env.stack.setConfig({ phase: "running" });
    const refusal =
      /refused to start Tines: the presync's replication is still on the source after the window/;
    const preview = await env.stack.preview();
    outputs.push(preview.stdout + preview.stderr);
    expect(preview.code, preview.stdout + preview.stderr).not.toBe(0);
    expect(preview.stdout + preview.stderr).toMatch(refusal);
    const result = await env.stack.up("e2e: startup with a slot left");
    const output = logRun("up (startup, slot left)", result);
    outputs.push(output);
    expect(result.code, output).not.toBe(0);
    expect(output).toMatch(refusal);
    expect(await ecsDesiredCounts(env.ecs, Object.keys(COUNTS))).toEqual({
      "tines-app": 0,
      "tines-command-runner": 0,
    });

    const removed = spawnSync(
      process.execPath,
      ["cli/main.js", "db-presync", "remove", "--from", "env:OLD_URL"],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, OLD_URL: env.source.url },
        encoding: "utf8",
        timeout: 120_000,
      },
    );
    outputs.push(removed.stdout + removed.stderr);
    expect(removed.status, removed.stdout + removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(/removed 1 slots and 0 publications/);
    expect(await replicationLeft(env.source.url, env.targetUrl)).toEqual(NOTHING_LEFT);
  });

  it("startup checks nothing of the presync is left, then starts Tines", async () => {
    await env.stack.setConfig({ phase: "running" });
    const result = await env.stack.up("e2e: startup on the new database");
    const output = logRun("up (startup)", result);
    outputs.push(output);
    expect(result.code, output).toBe(0);
    expect(await ecsDesiredCounts(env.ecs, Object.keys(COUNTS))).toEqual(COUNTS);
    const audit = (await env.stack.outputs()).audit as { databasePresync?: Record<string, unknown> };
    expect(audit.databasePresync).toMatchObject({ state: "done" });
  });

  it("removing database.migration afterwards removes the presync resource and keeps the new, live database", async () => {
    const before = await tableContents(env.targetUrl);
    await env.stack.removeConfig("database.migration");
    const result = await env.stack.up("e2e: presync done, migration settings removed");
    const output = logRun("up (running, migration removed)", result);
    outputs.push(output);
    expect(result.code, output).toBe(0);
    expect(output).toMatch(/database-presync\s+deleted|- .*database-presync/);
    expect(await tableContents(env.targetUrl)).toEqual(before);
    expect(await replicationLeft(env.source.url, env.targetUrl)).toEqual(NOTHING_LEFT);
  });

  it("the database passwords are nowhere in plain text", async () => {
    const texts = [...(await env.stack.storedTexts()), ...outputs];
    for (const text of texts) expect(text).not.toContain(TEST_PG_PASSWORD);
  });
});
