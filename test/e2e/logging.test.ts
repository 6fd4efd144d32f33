// The appliance's log: every line carries an ISO timestamp and a level; task lifecycle and device
// connections are logged; --log-format json is one object a line; --log-file rotates, bounded; lines
// waiting in the batch at shutdown are written before the process exits.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { binary, COMPILE_GUARD_MS, E2E_TEST_TIMEOUT_MS, serve, type Served, WAIT_MS, workspace } from "./support.ts";

// Compiling the executable (once per run) takes a while on a loaded machine: not inside a test's time.
beforeAll(() => binary().then(() => undefined), COMPILE_GUARD_MS);
setDefaultTimeout(E2E_TEST_TIMEOUT_MS);

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function post(s: Served, path: string, body?: unknown): Promise<Response> {
  return fetch(`${s.url}${path}`, {
    method: "POST",
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { "content-type": "application/json" },
    signal: AbortSignal.timeout(WAIT_MS),
  });
}

/** Polls the task until it has ended (each poll is a request the server answers at once). */
async function ended(s: Served, id: string): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const { status } = (await (
      await fetch(`${s.url}/tasks/${id}`, { signal: AbortSignal.timeout(WAIT_MS) })
    ).json()) as {
      status: string;
    };
    if (!["pending", "running", "paused"].includes(status)) return status;
  }
  throw new Error(`task ${id} did not end within ${WAIT_MS} ms`);
}

describe("serve's log", () => {
  test("--log-format json --log-file: one object a line with time and level; tasks, devices and requests", async () => {
    const cwd = await workspace();
    const file = join(cwd, "labdaemon.log");
    const s = await serve(["--sim", "--port", "0", "--log-file", file, "--log-format", "json"], { cwd });
    try {
      expect((await post(s, "/tasks", { task_id: "ok1", task_type: "SweepTask", params: { steps: 3 } })).status).toBe(
        200,
      );
      expect(await ended(s, "ok1")).toBe("completed");
      expect(
        (await post(s, "/tasks", { task_id: "slow1", task_type: "SweepTask", params: { steps: 1000, dwell_ms: 1000 } }))
          .status,
      ).toBe(200);
      expect((await post(s, "/tasks/slow1/cancel")).status).toBe(200);
      expect(await ended(s, "slow1")).toBe("cancelled");
      expect((await post(s, "/devices/laser1/disconnect")).status).toBe(200);
      expect(
        (await post(s, "/devices/laser1/call", { method: "setWavelength", args: [1550] })).status,
      ).toBeGreaterThanOrEqual(400);
      expect((await post(s, "/tasks", { task_id: "bad1", task_type: "SweepTask", params: { steps: 3 } })).status).toBe(
        200,
      );
      expect(await ended(s, "bad1")).toBe("failed");
      expect((await post(s, "/devices/laser1/connect")).status).toBe(200);
    } finally {
      expect((await s.terminate()).exitCode).toBe(0);
    }
    const lines = readFileSync(file, "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const l of lines) {
      expect(l.time).toMatch(ISO);
      expect(["debug", "info", "warn", "error"]).toContain(l.level as string);
      expect(typeof l.msg).toBe("string");
    }
    const find = (event: string, key: string, value: string) =>
      lines.find((l) => l.event === event && l[key] === value);
    expect(find("task_started", "task_id", "ok1")).toMatchObject({
      level: "info",
      task_type: "SweepTask",
      msg: "task ok1 (SweepTask) started",
    });
    expect(find("task_completed", "task_id", "ok1")).toMatchObject({
      level: "info",
      msg: "task ok1 (SweepTask) finished",
    });
    expect(find("task_cancelled", "task_id", "slow1")).toMatchObject({ level: "info" });
    expect(find("task_failed", "task_id", "bad1")).toMatchObject({
      level: "warn",
      error_type: "DeviceNotConnectedError",
    });
    expect(find("device_disconnected", "device_id", "laser1")).toMatchObject({
      level: "info",
      msg: "device laser1 disconnected",
    });
    expect(find("device_error", "device_id", "laser1")).toMatchObject({
      level: "warn",
      error_type: "DeviceNotConnectedError",
    });
    expect(find("device_connected", "device_id", "laser1")).toMatchObject({ level: "info" });
    // The last request, answered just before SIGTERM, was still in the batch: written at shutdown.
    expect(lines.findLast((l) => l.event === "request")).toMatchObject({
      method: "POST",
      path: "/devices/laser1/connect",
      status: 200,
    });
    expect(s.stdout()).not.toContain("/devices/laser1/connect"); // into the file, not the terminal
  });

  test("text lines start with an ISO timestamp and the level", async () => {
    const cwd = await workspace();
    const s = await serve(["--sim", "--port", "0"], { cwd });
    try {
      expect((await fetch(`${s.url}/devices/laser1`, { signal: AbortSignal.timeout(WAIT_MS) })).status).toBe(200);
      expect((await fetch(`${s.url}/devices/nope`, { signal: AbortSignal.timeout(WAIT_MS) })).status).toBe(404);
    } finally {
      expect((await s.terminate()).exitCode).toBe(0);
    }
    expect(s.stdout()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  GET \/devices\/laser1 200 [\d.]+ ms$/m);
    expect(s.stderr()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN  GET \/devices\/nope 404 [\d.]+ ms$/m);
  });

  test("--log-file rotates at --log-max-bytes and keeps --log-keep old files", async () => {
    const cwd = await workspace();
    const file = join(cwd, "rot.log");
    const s = await serve(["--sim", "--port", "0", "--log-file", file, "--log-max-bytes", "4096", "--log-keep", "2"], {
      cwd,
    });
    try {
      // ~70 bytes a line: 400 requests write about seven files' worth.
      for (let i = 0; i < 400; i++)
        expect((await fetch(`${s.url}/devices/laser1`, { signal: AbortSignal.timeout(WAIT_MS) })).status).toBe(200);
    } finally {
      expect((await s.terminate()).exitCode).toBe(0);
    }
    for (const f of [file, `${file}.1`, `${file}.2`]) {
      expect(existsSync(f)).toBe(true);
      expect(statSync(f).size).toBeLessThanOrEqual(4096);
    }
    expect(existsSync(`${file}.3`)).toBe(false);
    expect(readFileSync(`${file}.1`, "utf8")).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO  GET \/devices\/laser1 200 /);
  });
});
