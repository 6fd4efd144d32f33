// OpenAPI JSON built from the routes' own typebox schemas, and a Swagger UI whose assets are embedded in
// the executable: labs are often offline, so the page references no external URL.
import { Elysia } from "elysia";
import bundleJs from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import uiCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import favicon from "swagger-ui-dist/favicon-32x32.png" with { type: "file" };
import { randomBytes } from "node:crypto";
import pkg from "../../package.json" with { type: "json" };
import { notFound } from "./errors.ts";
import { ErrorEnvelopeSchema } from "./schemas.ts";
import { clip } from "../core/clip.ts";

// A Map, not an object literal: `/swagger/assets/constructor` must not find Object.prototype's members.
const ASSETS = new Map<string, { path: string; type: string }>([
  ["swagger-ui-bundle.js", { path: bundleJs, type: "text/javascript; charset=utf-8" }],
  ["swagger-ui.css", { path: uiCss, type: "text/css; charset=utf-8" }],
  ["favicon.png", { path: favicon, type: "image/png" }],
]);

const STATUS_TEXT: Record<string, string> = {
  200: "OK",
  204: "No content",
  400: "Invalid request",
  401: "Missing or wrong token",
  404: "Not found",
  409: "Conflict (exists, or owned by a running task)",
  413: "Body over 1 MiB",
  422: "Validation failed",
  500: "Failure inside the device or task",
  504: "Timeout (device call, or a task's parameter code)",
};

/** Every tag a route may carry, in the order the Swagger page lists them. */
const TAGS = [
  { name: "meta", description: "Server information, health, registered types" },
  { name: "devices", description: "Add, connect and call instruments" },
  {
    name: "stream",
    description: "Server-sent event streams of device data and task lifecycle, and stopping a device's stream",
  },
  { name: "tasks", description: "Start, watch and control tasks" },
  { name: "errors", description: "The last error recorded per device and per task" },
  { name: "runs", description: "Recordings to HDF5 files and the run catalogue (servers with a data directory)" },
  { name: "leases", description: "Exclusive control of a device by one client for a bounded time (X-Lease-Id)" },
];

interface RouteLike {
  method: string;
  path: string;
  hooks?: {
    body?: unknown;
    query?: unknown;
    detail?: {
      summary?: string;
      description?: string;
      tags?: string[];
      responses?: Record<string, unknown>;
      body?: unknown;
      bodyOptional?: boolean;
      hide?: boolean;
    };
  };
}

/** Routes that are commands on a device (or start a task, or a device's stream): a lease applies to them. */
const LEASED_COMMAND =
  /^(?:(?:POST|DELETE) \/devices\/\{device_id\}|POST \/tasks$|POST \/runs\/\{run_id\}\/resubmit$|GET \/stream\/devices\/)/;
const LEASE_HEADER = {
  name: "X-Lease-Id",
  in: "header",
  required: false,
  description:
    "The device's lease id when it is leased (POST /devices/{device_id}/lease); without it a command on a leased device is 409 DeviceLeased",
  schema: { type: "string" },
};

/** Strips typebox's symbol keys (JSON.stringify drops them anyway) so the document is plain JSON. */
const plain = (schema: unknown) => JSON.parse(JSON.stringify(schema ?? {}));

export function buildOpenApi(routes: readonly RouteLike[], opts: { token: boolean }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const detail = r.hooks?.detail;
    if (!detail || detail.hide || !["GET", "POST", "DELETE"].includes(r.method)) continue;
    const path = r.path.replace(/:(\w+)/g, "{$1}");
    const parameters: Record<string, unknown>[] = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    // A command on a leased device needs its lease: Swagger UI and generated clients must be able to send it.
    if (LEASED_COMMAND.test(`${r.method} ${path}`)) parameters.push(LEASE_HEADER);
    const query = plain(r.hooks?.query) as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, schema] of Object.entries(query.properties ?? {})) {
      parameters.push({ name, in: "query", required: query.required?.includes(name) ?? false, schema });
    }
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(detail.responses ?? {})) {
      const type = status === "200" && path.startsWith("/stream/") ? "text/event-stream" : "application/json";
      const body = status === "204" ? {} : { content: { [type]: { schema: plain(schema) } } };
      responses[status] = { description: STATUS_TEXT[status] ?? "", ...body };
    }
    if (Object.keys(responses).length === 0) responses["200"] = { description: STATUS_TEXT[200] };
    responses.default = {
      description: "Any error: the envelope",
      content: { "application/json": { schema: plain(ErrorEnvelopeSchema) } },
    };
    if (opts.token && path !== "/health") {
      responses["401"] = {
        description: STATUS_TEXT[401],
        content: { "application/json": { schema: plain(ErrorEnvelopeSchema) } },
      };
    }
    const op: Record<string, unknown> = {
      summary: detail.summary,
      description: detail.description,
      tags: detail.tags,
      parameters,
      responses,
    };
    const body = detail.body ?? r.hooks?.body;
    if (body)
      op.requestBody = {
        required: !detail.bodyOptional,
        content: { "application/json": { schema: plain(body) } },
      };
    if (opts.token && path !== "/health") op.security = [{ bearer: [] }];
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    // 3.1: its schema objects are JSON Schema, which typebox writes (`const`, numeric exclusiveMinimum).
    openapi: "3.1.0",
    info: { title: "LabDaemon Server", description: "HTTP/SSE API for LabDaemon", version: pkg.version },
    tags: TAGS,
    paths,
    // Without a token there is nothing to authorise: no scheme, so Swagger UI shows no Authorize button.
    ...(opts.token ? { components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } } } : {}),
  };
}

/**
 * The page's own script runs by its nonce, nothing else inline or from elsewhere; no other site may frame it
 * (its Execute buttons would be clickjacked) and, as it may hold the token, nothing keeps a copy.
 */
function pageHeaders(nonce: string): Record<string, string> {
  return {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": `default-src 'self'; script-src 'self' 'nonce-${nonce}'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
  };
}

function page(token: string | null, nonce: string): string {
  const config = {
    url: token ? `/swagger/json?token=${encodeURIComponent(token)}` : "/swagger/json",
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
  };
  const json = (v: unknown) => JSON.stringify(v).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>LabDaemon Server API</title>
<link rel="icon" href="/swagger/assets/favicon.png">
<link rel="stylesheet" href="/swagger/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/swagger/assets/swagger-ui-bundle.js"></script>
<script nonce="${nonce}">
const token = ${json(token)};
window.ui = SwaggerUIBundle(Object.assign(${json(config)}, {
  requestInterceptor: (req) => { if (token && !req.headers.Authorization) req.headers.Authorization = "Bearer " + token; return req; },
}));
</script>
</body>
</html>`;
}

/** GET /openapi.json (also /swagger/json), GET /swagger and its assets. `routes` is read on each request. */
export function docsRoutes(routes: () => readonly RouteLike[], opts: { token: boolean }) {
  let cached: { count: number; text: string } | null = null;
  const spec = () => {
    const list = routes();
    if (!cached || cached.count !== list.length)
      cached = { count: list.length, text: JSON.stringify(buildOpenApi(list, opts)) };
    return new Response(cached.text, { headers: { "content-type": "application/json" } });
  };
  return new Elysia()
    .get("/openapi.json", spec, { detail: { hide: true } })
    .get("/swagger/json", spec, { detail: { hide: true } })
    .get(
      "/swagger",
      ({ query }) => {
        const nonce = randomBytes(16).toString("base64");
        const token = typeof query.token === "string" ? query.token : null;
        return new Response(page(token, nonce), { headers: pageHeaders(nonce) });
      },
      { detail: { hide: true } },
    )
    .get(
      "/swagger/assets/:file",
      ({ params }) => {
        // Elysia gives a segment it cannot percent-decode as null.
        const file = typeof params.file === "string" ? params.file : "";
        const asset = ASSETS.get(file);
        if (!asset) throw notFound("No such documentation asset", { file: clip(file, 80) });
        return new Response(Bun.file(asset.path), {
          headers: { "content-type": asset.type, "cache-control": "public, max-age=86400" },
        });
      },
      { detail: { hide: true } },
    );
}
