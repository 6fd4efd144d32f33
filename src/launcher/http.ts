// The launcher's HTTP side: its page at / and the JSON API that page and scripts share, on 127.0.0.1
// only, every API call behind the per-launch secret; errors in the server's envelope.
import { randomBytes } from "node:crypto";
import type { Server } from "bun";
import { envelope, errorResponse, HttpError, mapError } from "../server/errors.ts";
import { configJsonSchema } from "../cli/configSchema.ts";
import { pageResponse } from "../web/pages.ts";
import { jsonBody, textBody } from "./body.ts";
import { checkRequest } from "./configCheck.ts";
import { LauncherGuard } from "./guard.ts";
import { logStream } from "./sse.ts";
import type { Supervisor } from "./supervisor.ts";

export interface LauncherHttp {
  url: string;
  /** The URL with the secret, as printed once. */
  urlWithToken: string;
  secret: string;
  port: number;
  server: Server<unknown>;
}

export interface LauncherHttpOptions {
  port: number;
  /** Fixed for tests; a fresh random one otherwise. */
  secret?: string;
  /** Called after POST /api/quit has been answered. */
  onQuit: () => void;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });

type Handler = (req: Request, params: string[], url: URL) => Promise<Response> | Response;

export function serveLauncher(sup: Supervisor, opts: LauncherHttpOptions): LauncherHttp {
  const secret = opts.secret ?? randomBytes(24).toString("base64url");
  let guard: LauncherGuard;

  const routes: Array<[string, RegExp, Handler]> = [
    [
      "GET",
      /^\/api\/profiles$/,
      async () => {
        await sup.refreshIfChanged();
        return json({
          profiles: sup.list(),
          config: { file: sup.configFile, error: sup.configError?.context ?? null },
        });
      },
    ],
    [
      "GET",
      /^\/api\/profiles\/([^/]+)$/,
      (_r, [name]) => {
        sup.logsOf(name!); // 404 for an unknown name
        return json(sup.view(name!));
      },
    ],
    [
      "POST",
      /^\/api\/profiles\/([^/]+)\/start$/,
      async (req, [name]) => {
        const body = await jsonBody(req);
        const keep = body.keep_running;
        if (keep !== undefined && typeof keep !== "boolean")
          throw new HttpError(400, "InvalidRequest", "keep_running must be true or false", { keep_running: keep });
        return json(await sup.start(name!, { keepRunning: keep === true }), 202);
      },
    ],
    ["POST", /^\/api\/profiles\/([^/]+)\/stop$/, async (_r, [name]) => json(await sup.stop(name!))],
    [
      "GET",
      /^\/api\/profiles\/([^/]+)\/logs$/,
      (req, [name], url) => {
        const since = Number(url.searchParams.get("since") ?? req.headers.get("last-event-id") ?? 0);
        if (!Number.isInteger(since) || since < 0)
          throw new HttpError(400, "InvalidRequest", "since must be a whole number (a line's seq)", {
            since: url.searchParams.get("since"),
          });
        return logStream(sup.logsOf(name!), since, req.signal);
      },
    ],
    [
      "GET",
      /^\/api\/config$/,
      async () => {
        await sup.refreshIfChanged();
        return json(sup.configText());
      },
    ],
    [
      "PUT",
      /^\/api\/config$/,
      async (req) => json({ profiles: await sup.saveConfig(await textBody(req)), config: sup.configText() }),
    ],
    ["GET", /^\/api\/config\/schema$/, () => json(configJsonSchema())],
    ["POST", /^\/api\/config\/check$/, async (req, _p, url) => json(await checkRequest(req, url, sup.configFile))],
    [
      "POST",
      /^\/api\/config$/,
      async (req) => {
        const { path } = await jsonBody(req);
        if (typeof path !== "string" || path.trim() === "")
          throw new HttpError(400, "InvalidRequest", "path must name the file to create", { path });
        return json(await sup.createConfig(path.trim()), 201);
      },
    ],
    ["GET", /^\/api\/orphans$/, () => json({ run_dir: sup.runDir.dir, orphans: sup.orphanList() })],
    ["POST", /^\/api\/orphans\/([^/]+)\/adopt$/, (_r, [id]) => json(sup.adopt(id!))],
    [
      "POST",
      /^\/api\/orphans\/([^/]+)\/stop$/,
      async (_r, [id]) => {
        await sup.stopOrphan(id!);
        return json({ orphans: sup.orphanList() });
      },
    ],
    [
      "DELETE",
      /^\/api\/orphans\/([^/]+)$/,
      (_r, [id]) => {
        sup.forget(id!);
        return json({ orphans: sup.orphanList() });
      },
    ],
    [
      "POST",
      /^\/api\/quit$/,
      () => {
        setTimeout(opts.onQuit, 0);
        return json(
          {
            quitting: true,
            keep_running: sup
              .list()
              .filter((p) => p.keep_running)
              .map((p) => p.name),
          },
          202,
        );
      },
    ],
  ];

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const path = url.pathname;
    const isApi = path.startsWith("/api/");
    guard.check(req, isApi);
    if (!isApi) {
      if (path === "/" && (req.method === "GET" || req.method === "HEAD")) return pageResponse("launcher", req);
      throw new HttpError(404, "NotFound", `no page ${path}`, { path });
    }
    let pathMatched = false;
    for (const [method, re, handler] of routes) {
      const m = re.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (method !== req.method) continue;
      return handler(req, m.slice(1).map(decodeSegment), url);
    }
    if (pathMatched)
      throw new HttpError(405, "MethodNotAllowed", `${req.method} is not allowed on ${path}`, {
        method: req.method,
        path,
      });
    throw new HttpError(404, "NotFound", `no API route ${req.method} ${path}`, { path });
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: opts.port,
    // Bodies are limited by the handlers (body.ts), which answer with the error envelope; Bun's own 413 has none.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    // Log streams stay open; Bun's idle timeout would cut them (keep-alive comments come every 15 s).
    idleTimeout: 0,
    async fetch(req) {
      try {
        return await handle(req);
      } catch (e) {
        const mapped = mapError(e);
        // A refusal while quitting is a 503 by design, not a failure worth a stack trace.
        if (mapped.unexpected && !(e instanceof HttpError && e.type === "Quitting"))
          console.error(`labdaemon launcher: ${req.method} ${new URL(req.url).pathname} failed:`, e);
        return errorResponse(
          mapped.status,
          mapped.body,
          mapped.status === 401 ? { "WWW-Authenticate": 'Bearer realm="labdaemon launcher"' } : {},
        );
      }
    },
    error(e) {
      console.error("labdaemon launcher: unhandled error:", e);
      return errorResponse(
        500,
        envelope("InternalError", "The launcher failed to handle the request; see its output."),
      );
    },
  });
  guard = new LauncherGuard(secret, server.port!);
  const url = `http://127.0.0.1:${server.port}/`;
  return { url, urlWithToken: `${url}?token=${secret}`, secret, port: server.port!, server };
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, "InvalidRequest", `malformed percent-encoding in '${s}'`, { segment: s });
  }
}
