import { afterAll, describe, expect, test } from "bun:test";
import { requestLog, ServerLog } from "../../../src/server/middleware/requestLog.ts";
import type { LogFields } from "../../../src/log/levels.ts";
import { recordingLogger, serveChain } from "./support.ts";

describe("ServerLog", () => {
  test("lines below the server's level are dropped; silent drops all", () => {
    const lines: string[] = [];
    const warn = new ServerLog(recordingLogger(lines), "warn");
    warn.log("info", "quiet");
    warn.log("warn", "loud");
    warn.log("error", "louder", new Error("x"));
    expect(lines).toEqual(["warn loud", "error louder"]);
    lines.length = 0;
    new ServerLog(recordingLogger(lines), "silent").log("error", "never");
    expect(lines).toEqual([]);
  });

  test("a request line's level follows its status; /health is debug", () => {
    const lines: string[] = [];
    const fields: LogFields[] = [];
    const log = new ServerLog(recordingLogger(lines, fields), "debug");
    log.request("GET", "/health", 200, 0.04);
    log.request("GET", "/devices", 200, 1.26);
    log.request("POST", "/devices", 409, 2);
    log.request("POST", "/devices/a/call", 500, 3);
    expect(lines).toEqual([
      "debug GET /health 200 0.0 ms",
      "info GET /devices 200 1.3 ms",
      "warn POST /devices 409 2.0 ms",
      "error POST /devices/a/call 500 3.0 ms",
    ]);
    expect(fields[1]).toEqual({ event: "request", method: "GET", path: "/devices", status: 200, ms: 1.3 });
  });

  test("at the default level, /health lines are left out", () => {
    const lines: string[] = [];
    const log = new ServerLog(recordingLogger(lines));
    log.request("GET", "/health", 200, 1);
    log.request("GET", "/x", 200, 1);
    expect(lines).toEqual(["info GET /x 200 1.0 ms"]);
  });
});

describe("requestLog", () => {
  const lines: string[] = [];
  const server = serveChain(
    () => [requestLog(new ServerLog(recordingLogger(lines), "debug"))],
    async (ex) => new Response(null, { status: ex.path === "/gone" ? 404 : 204 }),
  );
  afterAll(() => server.stop());

  test("one line per request once it is answered, with its path (no query) and status", async () => {
    await fetch(`${server.url}/a?token=hidden`);
    await fetch(`${server.url}/gone`, { method: "DELETE" });
    expect(lines.map((l) => l.replace(/ [\d.]+ ms$/, ""))).toEqual(["info GET /a 204", "warn DELETE /gone 404"]);
  });
});
