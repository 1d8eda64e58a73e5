import { describe, expect, it } from "vitest";
import { SECRET_PLACEHOLDER } from "./core";
import { assertCredentialsAreSecrets, credentialPaths } from "./credentials";

describe("credentials in stack config", () => {
  it("finds every URL with a password and every password key, at any depth", () => {
    expect(
      credentialPaths({
        sidekiq: { redisUrl: "redis://:pw@redis:6379/0", namespace: "tines" },
        database: {
          url: "postgresql://tines@db/tines",
          migration: { targetUrl: "postgresql://tines:pw@new/tines" },
        },
        endpoints: { propagation: { database: { user: "u", password: "p" } }, databaseHost: "db" },
        health: { url: "https://tines.internal/is_up" },
        ecs: { endpoint: "http://user:key@localhost:5000" },
        list: ["redis://:pw@a:1/0", "plain"],
        encrypted: { password: SECRET_PLACEHOLDER, url: SECRET_PLACEHOLDER },
      }).map((p) => p.join(".")),
    ).toEqual([
      "sidekiq.redisUrl",
      "database.migration.targetUrl",
      "endpoints.propagation.database.password",
      "ecs.endpoint",
      "list.0",
    ]);
  });

  it("refuses those that are not secrets in one line, naming each key and the command, never the value", () => {
    const raw = {
      sidekiq: { redisUrl: "redis://:pw-1@redis:6379/0" },
      health: { url: "https://ops:pw-2@tines/is_up" },
    };
    expect(() => assertCredentialsAreSecrets(raw, ([key]) => key === "health")).toThrow(
      "tines-maintenance:sidekiq.redisUrl: holds a password but is not a secret; set it with `pulumi config set --secret --path sidekiq.redisUrl ...`",
    );
    let message = "";
    try {
      assertCredentialsAreSecrets(raw, () => false);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split("; tines-maintenance:")).toHaveLength(2);
    expect(message).not.toMatch(/pw-1|pw-2|\n/);
    expect(() => assertCredentialsAreSecrets(raw, () => true)).not.toThrow();
  });
});
