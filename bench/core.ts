// Calls/s of a trivial method through the daemon's device proxy (per-device FIFO) vs a direct call,
// both awaited, in the same run. Goal: >= 1,000,000 proxied calls/s; the overhead per call in ns.
import { LabDaemon } from "../src/index.ts";

class Trivial {
  n = 0;
  constructor(readonly deviceId: string) {}
  bump() {
    return ++this.n;
  }
  async bumpAsync() {
    return ++this.n;
  }
}

const daemon = new LabDaemon();
daemon.registerPlugins({ devices: { Trivial } });
const proxy = daemon.addDevice<Trivial>("t1", "Trivial");
const raw = daemon.getDeviceInstance("t1") as Trivial;

async function rate(label: string, n: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < 10_000; i++) await fn(); // warm-up
  const t0 = Bun.nanoseconds();
  for (let i = 0; i < n; i++) await fn();
  const ns = Bun.nanoseconds() - t0;
  const perSec = n / (ns / 1e9);
  console.log(
    `${label.padEnd(44)} ${(perSec / 1e6).toFixed(2).padStart(6)} M calls/s  ${(ns / n).toFixed(0).padStart(5)} ns/call`,
  );
  return ns / n;
}

async function concurrent(label: string, callers: number, per: number, fn: () => Promise<unknown>): Promise<void> {
  const t0 = Bun.nanoseconds();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let i = 0; i < per; i++) await fn();
    }),
  );
  const ns = Bun.nanoseconds() - t0;
  console.log(
    `${label.padEnd(44)} ${((callers * per) / (ns / 1e9) / 1e6).toFixed(2).padStart(6)} M calls/s  (${callers} callers, queued)`,
  );
}

const N = 2_000_000;
const direct = await rate("direct: await raw.bump()", N, () => raw.bump());
const proxied = await rate("proxy:  await proxy.bump()", N, () => proxy.bump());
const directAsync = await rate("direct: await raw.bumpAsync()", N, () => raw.bumpAsync());
const proxiedAsync = await rate("proxy:  await proxy.bumpAsync()", N, () => proxy.bumpAsync());
await concurrent("proxy:  bumpAsync from 10 concurrent callers", 10, 100_000, () => proxy.bumpAsync());
console.log(
  `\nproxy overhead: sync method ${(proxied - direct).toFixed(0)} ns/call (ratio ${(direct / proxied).toFixed(2)}x of direct),` +
    ` async method ${(proxiedAsync - directAsync).toFixed(0)} ns/call (ratio ${(directAsync / proxiedAsync).toFixed(2)}x of direct)`,
);
console.log(`goal >= 1,000,000 proxied calls/s: ${1e9 / proxied >= 1e6 ? "met" : "NOT met"}`);
await daemon.shutdown();
