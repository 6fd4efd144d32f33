// Serving beyond loopback: refused without a token unless --insecure, which warns loudly; without a token
// such a server still refuses DNS names in Host (a rebinding page), and serves IP addresses.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { connect } from "node:net";
import { binary, COMPILE_GUARD_MS, E2E_TEST_TIMEOUT_MS, run, serve, WAIT_MS, workspace } from "./support.ts";

// Compiling the executable (once per run) takes a while on a loaded machine: not inside a test's time.
beforeAll(() => binary().then(() => undefined), COMPILE_GUARD_MS);
setDefaultTimeout(E2E_TEST_TIMEOUT_MS);

/** One HTTP/1.1 request with the given Host header over a raw socket to 127.0.0.1; the status. */
function statusFor(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.setTimeout(WAIT_MS, () => socket.destroy(new Error(`no answer within ${WAIT_MS} ms`)));
    socket.on("connect", () => socket.write(`GET /devices HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    socket.on("data", (d) => (text += d.toString()));
    socket.on("end", () => resolve(Number(text.split(" ")[1])));
    socket.on("error", reject);
  });
}

describe("serve --host beyond loopback", () => {
  test("without a token it is a one-line usage error naming --insecure, and nothing listens", async () => {
    const cwd = await workspace();
    const r = await run(["serve", "--sim", "--host", "0.0.0.0", "--port", "0"], { cwd });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "labdaemon: serve: refusing to listen on 0.0.0.0 (--host) without a token: anyone on the network could drive " +
        "the instruments; set --token (or LABDAEMON_TOKEN), or add --insecure to serve without one\n",
    );
  });

  test("with a token it serves, quietly", async () => {
    const cwd = await workspace();
    const s = await serve(["--sim", "--host", "0.0.0.0", "--port", "0", "--token", "t0k"], { cwd });
    try {
      expect(s.stderr()).not.toContain("WARNING");
    } finally {
      await s.terminate();
    }
  });

  test("--insecure serves with a loud warning; DNS names in Host are refused, IP addresses served", async () => {
    const cwd = await workspace();
    const s = await serve(["--sim", "--host", "0.0.0.0", "--port", "0", "--insecure", "--log-level", "silent"], {
      cwd,
    });
    try {
      expect(s.stderr()).toContain(`labdaemon: WARNING: --insecure: listening on 0.0.0.0:${s.port} WITHOUT A TOKEN`);
      expect(await statusFor(s.port, `evil.example:${s.port}`)).toBe(403);
      expect(await statusFor(s.port, `labpc.example:${s.port}`)).toBe(403);
      expect(await statusFor(s.port, `192.168.1.5:${s.port}`)).toBe(200);
      expect(await statusFor(s.port, `127.0.0.1:${s.port}`)).toBe(200);
    } finally {
      expect((await s.terminate()).exitCode).toBe(0);
    }
  });
});
