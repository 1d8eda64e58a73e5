/**
 * A real DNS server on loopback for the endpoint propagation gate: dnsmasq on a free
 * unprivileged port, answering only the records given (authoritative-style, fixed TTL),
 * reading no system file. Records can be changed by restarting on the same port.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import dgram from "node:dgram";
import os from "node:os";
import path from "node:path";
import { freePort, stopProcess } from "./localServers";

export interface DnsRecord {
  name: string;
  /** IPv4 or IPv6 addresses. */
  addresses: string[];
}

export interface RunningDns {
  /** `127.0.0.1:PORT`, as `dns.Resolver#setServers` takes it. */
  server: string;
  port: number;
  /** Serve other records (or TTL) on the same port. */
  restart(records: DnsRecord[], ttlSeconds?: number): Promise<void>;
  stop(): Promise<void>;
}

const DNSMASQ = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"].find((p) => existsSync(p));

/** Port free for UDP as well (freePort checks TCP only; dnsmasq binds both). */
async function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket("udp4");
    socket.once("error", () => resolve(false));
    socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)));
  });
}

async function waitForAnswer(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const { Resolver } = await import("node:dns/promises");
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`test servers: dnsmasq exited with code ${child.exitCode}`);
    try {
      await resolver.resolve4("dnsmasq-ready.test");
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`test servers: dnsmasq did not answer on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

export async function startDnsmasq(records: DnsRecord[], ttlSeconds = 60): Promise<RunningDns> {
  if (!DNSMASQ) throw new Error("test servers: `dnsmasq` not found; install the Debian package dnsmasq-base");
  let port = await freePort();
  while (!(await udpFree(port))) port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "tines-maint-dnsmasq-"));
  let child: ChildProcess | undefined;

  const stopChild = async () => {
    if (child) await stopProcess(child, 5_000);
  };

  const start = async (current: DnsRecord[], ttl: number) => {
    const args = [
      "--no-daemon",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      "--no-poll",
      `--port=${port}`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      `--pid-file=${path.join(dir, "dnsmasq.pid")}`,
      `--local-ttl=${ttl}`,
      "--host-record=dnsmasq-ready.test,127.0.0.1",
      ...current.map((r) => `--host-record=${[r.name, ...r.addresses].join(",")}`),
    ];
    // Running as root, dnsmasq drops privileges to `nobody` unless told not to.
    if (process.getuid?.() === 0) args.push("--user=root");
    child = spawn(DNSMASQ, args, { stdio: "ignore" });
    await waitForAnswer(port, child);
  };

  await start(records, ttlSeconds);
  return {
    server: `127.0.0.1:${port}`,
    port,
    restart: async (next, ttl = ttlSeconds) => {
      await stopChild();
      await start(next, ttl);
    },
    stop: async () => {
      await stopChild();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
