// GET / (what this server is and where everything lives) and GET /health.
import { Elysia } from "elysia";
import pkg from "../../../package.json" with { type: "json" };
import { isoNow } from "../../core/events.ts";
import { HealthSchema, ServerInfoSchema } from "../schemas.ts";
import { doc } from "./doc.ts";

/** The Python LabDaemon's 21 endpoint keys, plus the routes added since. */
export const ENDPOINTS: Readonly<Record<string, string>> = {
  devices: "/devices",
  device_detail: "/devices/{device_id}",
  device_methods: "/devices/{device_id}/methods",
  device_error: "/devices/{device_id}/error",
  clear_device_error: "/devices/{device_id}/error",
  device_call: "/devices/{device_id}/call",
  add_device: "/devices",
  remove_device: "/devices/{device_id}",
  connect_device: "/devices/{device_id}/connect",
  disconnect_device: "/devices/{device_id}/disconnect",
  health: "/health",
  tasks: "/tasks",
  execute_task: "/tasks",
  task_detail: "/tasks/{task_id}",
  task_error: "/tasks/{task_id}/error",
  clear_task_error: "/tasks/{task_id}/error",
  cancel_task: "/tasks/{task_id}/cancel",
  pause_task: "/tasks/{task_id}/pause",
  resume_task: "/tasks/{task_id}/resume",
  set_task_parameter: "/tasks/{task_id}/parameters",
  get_task_parameter: "/tasks/{task_id}/parameters/{key}",
  device_stream: "/stream/devices/{device_id}",
  stop_device_stream: "/devices/{device_id}/stream/stop",
  task_stream: "/stream/tasks",
  types: "/types",
  docs: "/swagger",
  openapi: "/openapi.json",
  dashboard: "/ui",
};

export const SERVER_NAME = "LabDaemon Server";

export function metaRoutes() {
  const info = { name: SERVER_NAME, version: pkg.version, endpoints: ENDPOINTS };
  const startedAt = Date.now();
  return new Elysia()
    .get(
      "/",
      () => ({ ...info, started_at: isoNow(startedAt), uptime_s: Math.round((Date.now() - startedAt) / 1000) }),
      {
        detail: doc({
          summary: "Server name, version and endpoints",
          tags: ["meta"],
          responses: { 200: ServerInfoSchema },
        }),
      },
    )
    .get("/health", () => ({ status: "healthy" as const, timestamp: isoNow() }), {
      detail: doc({ summary: "Liveness (no token needed)", tags: ["meta"], responses: { 200: HealthSchema } }),
    });
}
