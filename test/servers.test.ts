import { describe, expect, it } from "vitest";
import net from "node:net";

function port(url: string): number {
  return Number(new URL(url).port);
}

describe("test servers", () => {
  for (const variable of [
    "TEST_REDIS_URL",
    "TEST_PG_SOURCE_URL",
    "TEST_PG_TARGET_URL",
    "TEST_AWS_ENDPOINT",
  ]) {
    it(`${variable} accepts connections`, async () => {
      const url = process.env[variable];
      expect(url, `${variable} must be set by testkit/servers/globalSetup.ts`).toBeTruthy();
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(port(url!), "127.0.0.1", () => {
          socket.destroy();
          resolve();
        });
        socket.once("error", reject);
      });
    });
  }
});
