// MQTT commands on labdaemon/{server}/cmd: what a command may ask for, the HTTP request it becomes, and
// the {status, body} reply, so a command meets exactly the rules an HTTP request meets.
import { clip } from "../core/clip.ts";
import { envelope } from "../server/errors.ts";

/** A command's payload bound: the same order as the HTTP body bound. */
const MAX_COMMAND_BYTES = 1 << 20;
/** What an X-Lease-Id header can carry: a lease id is printable ASCII (the server gives UUIDs). */
const LEASE_ID = /^[\x21-\x7e]{1,200}$/;

export interface CommandRequest {
  method: string;
  path: string;
  body?: unknown;
  /** The command's `lease_id`, sent as an HTTP request sends X-Lease-Id. */
  leaseId?: string;
}

/** Sends one request through the whole server (host check, token, validation, ownership). */
export type InProcessFetch = (req: CommandRequest) => Promise<Response>;

/** Runs one command's payload and answers as HTTP would have: a 400 envelope for a command that makes no request. */
export async function runCommand(payload: Buffer, fetch: InProcessFetch): Promise<{ status: number; body: unknown }> {
  const parsed = payload.length > MAX_COMMAND_BYTES ? null : safeParse(payload.toString("utf8"));
  let req: CommandRequest | string;
  try {
    req =
      parsed && typeof parsed === "object" && !Array.isArray(parsed)
        ? commandRequest(parsed as Record<string, unknown>)
        : "the payload must be a JSON object of at most 1 MiB";
  } catch (e) {
    // Whatever the payload held, the requester gets an answer.
    req = `the command could not be read: ${clip((e as Error).message ?? String(e), 120)}`;
  }
  if (typeof req === "string") {
    return { status: 400, body: envelope("InvalidRequest", req) };
  }
  let res: Response;
  try {
    res = await fetch(req);
  } catch (e) {
    // The server answers every request it gets; this is a request it could not be given.
    return { status: 500, body: envelope("InternalError", `the command could not be run: ${(e as Error).message}`) };
  }
  const text = await res.text();
  return { status: res.status, body: text === "" ? null : safeParse(text) };
}

/** What a command may ask for, and the HTTP request it becomes (or why it makes none). */
function commandRequest(cmd: Record<string, unknown>): CommandRequest | string {
  const id = (k: string) => (typeof cmd[k] === "string" && cmd[k] !== "" ? encodeURIComponent(cmd[k] as string) : null);
  // It becomes a header: anything a header cannot carry is the command's mistake, not the server's failure.
  const lease = cmd.lease_id ?? undefined;
  if (lease !== undefined && (typeof lease !== "string" || !LEASE_ID.test(lease)))
    return "'lease_id' must be the lease's id, a string as POST /devices/{id}/lease gave it";
  const leaseId = lease as string | undefined;
  switch (cmd.action) {
    case "call": {
      const dev = id("device_id");
      if (!dev) return "'device_id' (a string) is required";
      return {
        method: "POST",
        path: `/devices/${dev}/call`,
        body: { method: cmd.method, args: cmd.args ?? [], kwargs: cmd.kwargs ?? {} },
        leaseId,
      };
    }
    case "start_task":
      return {
        method: "POST",
        path: "/tasks",
        body: { task_id: cmd.task_id, task_type: cmd.task_type, params: cmd.params ?? {} },
        leaseId,
      };
    case "cancel_task": {
      const task = id("task_id");
      if (!task) return "'task_id' (a string) is required";
      return { method: "POST", path: `/tasks/${task}/cancel${cmd.force === true ? "?force=true" : ""}`, leaseId };
    }
    case "get_device": {
      const dev = id("device_id");
      if (!dev) return "'device_id' (a string) is required";
      return { method: "GET", path: `/devices/${dev}`, leaseId };
    }
    default:
      return `unknown action ${typeof cmd.action === "string" ? JSON.stringify(clip(cmd.action, 60)) : `of type ${typeof cmd.action}`} (call, start_task, cancel_task, get_device)`;
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
