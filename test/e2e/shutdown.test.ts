// Streaming from the simulated DAQ through the binary, and the appliance's exit while clients listen.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  binary,
  COMPILE_GUARD_MS,
  E2E_TEST_TIMEOUT_MS,
  http,
  readEvents,
  serve,
  WAIT_MS,
  workspace,
} from "./support.ts";

// Compiling the executable (once per run) takes a while on a loaded machine: not inside a test's time.
beforeAll(() => binary().then(() => undefined), COMPILE_GUARD_MS);
setDefaultTimeout(E2E_TEST_TIMEOUT_MS);

describe("the DAQ stream and shutdown", () => {
  test("SSE from the SimDaq carries sequenced Float64 batches through the native ring", async () => {
    const cwd = await workspace();
    const s = await serve(["--sim", "--port", "0"], { cwd });
    try {
      const ac = new AbortController();
      const res = await fetch(`${s.url}/stream/devices/daq1`, { signal: ac.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/event-stream");
      const events = await readEvents(res, (ev) => ev.filter((e) => e.event === "device_data").length >= 5, ac);
      const data = events.filter((e) => e.event === "device_data");
      const seqs = data.map((e) => e.sequence);
      expect(data[0].device_id).toBe("daq1");
      expect(seqs[0]).toBeNumber();
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
      expect(data[0].payload).toHaveLength(500); // the simulated lab's batch size
      expect(data[0].payload.every((v: unknown) => typeof v === "number" && Math.abs(v as number) < 1.5)).toBe(true);
    } finally {
      await s.terminate();
    }
  });

  test("SIGTERM with an SSE client attached: exit 0 within 2 s, and the client's stream ends", async () => {
    const cwd = await workspace();
    const s = await serve(["--sim", "--port", "0"], { cwd });
    const res = await fetch(`${s.url}/stream/devices/daq1`, { signal: AbortSignal.timeout(WAIT_MS) });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    expect((await reader.read()).done).toBe(false); // the stream is live
    // A sweep is running too: shutdown cancels it.
    await http(s.url, "/tasks", {
      body: { task_id: "long", task_type: "SweepTask", params: { steps: 10_000, dwell_ms: 50 } },
    });
    const drained = (async () => {
      for (;;) if ((await reader.read()).done) return true;
    })();
    const { exitCode } = await s.terminate(20_000);
    // Exit 0 is the orderly end: past its 2 s budget serve exits 1 and says so, by its own clock, so a
    // loaded machine's slow signal delivery and process exit are not counted.
    expect(exitCode).toBe(0);
    expect(s.stderr()).not.toContain("shutdown took longer");
    expect(await drained).toBe(true);
    expect(s.stderr()).toContain("SIGTERM, shutting down");
  });

  test("SIGINT stops it the same way", async () => {
    const cwd = await workspace();
    const s = await serve(["--sim", "--port", "0"], { cwd });
    s.proc.kill("SIGINT");
    expect(await s.proc.exited).toBe(0); // within its budget, as above
    expect(s.stderr()).not.toContain("shutdown took longer");
  });
});
