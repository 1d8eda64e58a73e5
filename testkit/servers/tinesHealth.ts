/**
 * Starts testkit/servers/tinesHealthServer.ts as a child process on a free loopback port and
 * stops it by its PID.
 */
import { spawn } from "node:child_process";
import { freePort, stopProcess } from "./localServers";
import { PROJECT_ROOT, testkitPath } from "../projectRoot";

export interface TinesHealthServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startTinesHealthServer(options: {
  databaseUrl: string;
  redisUrl: string;
  /** A server that never reports healthy. */
  never?: boolean;
}): Promise<TinesHealthServer> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", testkitPath("servers", "tinesHealthServer.ts")], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      TINES_HEALTH_MODE: options.never ? "never" : "real",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`health server did not start: ${stderr}`)), 30_000);
    child.stdout.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("listening")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`health server exited with ${code}: ${stderr}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    stop: () => stopProcess(child, 5_000),
  };
}
