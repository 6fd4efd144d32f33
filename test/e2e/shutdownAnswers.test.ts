// SIGTERM to the binary while a slow device call is in flight: the client still gets a complete HTTP
// answer (a 503 envelope when the call cannot finish within the shutdown budget), and the process exits 0.
import { beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import {
  binary,
  COMPILE_GUARD_MS,
  E2E_TEST_TIMEOUT_MS,
  http,
  pollUntil,
  serve,
  WAIT_MS,
  workspace,
} from "./support.ts";

// Compiling the executable (once per run) takes a while on a loaded machine: not inside a test's time.
beforeAll(() => binary().then(() => undefined), COMPILE_GUARD_MS);
setDefaultTimeout(E2E_TEST_TIMEOUT_MS);

test("a /call in flight at SIGTERM gets a complete 503 envelope, not a closed connection", async () => {
  const cwd = await workspace();
  const s = await serve(["--sim", "--port", "0"], { cwd });
  try {
    // A laser that takes 10 s to settle: far longer than the shutdown budget.
    expect(
      (
        await http(s.url, "/devices", {
          body: { device_id: "slowlaser", device_type: "SimLaser", params: { settleMs: 10_000 } },
        })
      ).status,
    ).toBe(200);
    expect((await http(s.url, "/devices/slowlaser/connect", { method: "POST" })).status).toBe(200);
    const answer = fetch(`${s.url}/devices/slowlaser/call`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ method: "setWavelength", args: [1551] }),
      signal: AbortSignal.timeout(WAIT_MS),
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }));
    await pollUntil("the call to reach the laser", async () =>
      (await http(s.url, "/devices/slowlaser")).body.busy ? true : undefined,
    );
    const { exitCode } = await s.terminate();
    const { status, body } = await answer; // rejects if the connection was closed without an answer
    // The shutdown's answer, not the call's: a call that ended (after 10 s) would have answered 200.
    expect(status).toBe(503);
    expect(body.error).toMatchObject({ type: "ServerShuttingDown", origin: "framework" });
    expect(exitCode).toBe(0);
  } finally {
    s.proc.kill("SIGKILL");
  }
});
