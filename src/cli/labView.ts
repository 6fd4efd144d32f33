// `labdaemon lab --mqtt URL`: a live table of every server and device an MQTT broker has seen, from the
// retained state the servers' bridges publish (src/bridge/mqtt.ts).
import mqtt from "mqtt";
import { parseFlags, UsageError, wholeFlag, type Parsed } from "./args.ts";
import { LAB_HELP } from "./help.ts";

const FLAGS = {
  mqtt: { type: "string" },
  once: { type: "boolean" },
  wait: { type: "string" },
  username: { type: "string" },
} as const;
const REDRAW_MS = 250;
const CONNECT_TIMEOUT_MS = 10_000;

interface ServerView {
  status: Record<string, unknown> | null;
  devices: Map<string, Record<string, unknown>>;
}

export async function labCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags("lab", argv, FLAGS, { min: 0, max: 0, names: [] }) as Parsed;
  if (values.help) {
    process.stdout.write(LAB_HELP);
    return 0;
  }
  const url = values.mqtt as string | undefined;
  if (url === undefined) throw new UsageError("lab: --mqtt URL is required (see labdaemon lab --help)");
  if (!/^(mqtts?|wss?|tcp|ssl):\/\/[^/\s]+/.test(url))
    throw new UsageError(`lab: --mqtt takes a broker URL such as mqtt://broker:1883, got '${url}'`);
  const waitMs = wholeFlag(values.wait as string | undefined, "lab: --wait", "milliseconds", 0, 600_000) ?? 1000;
  const servers = new Map<string, ServerView>();
  const client = mqtt.connect(url, {
    protocolVersion: 5,
    connectTimeout: CONNECT_TIMEOUT_MS,
    reconnectPeriod: values.once ? 0 : 2000,
    username: values.username as string | undefined,
    password: process.env.LABDAEMON_MQTT_PASSWORD || undefined,
  });
  client.on("message", (topic, payload) => {
    const m = /^labdaemon\/([^/]+)\/(?:(status)|devices\/([^/]+)\/state)$/.exec(topic);
    if (!m) return;
    const view = servers.get(m[1]!) ?? { status: null, devices: new Map() };
    servers.set(m[1]!, view);
    const value = payload.length === 0 ? null : parseObject(payload.toString("utf8"));
    if (m[2]) view.status = value;
    else if (value === null) view.devices.delete(m[3]!);
    else view.devices.set(m[3]!, value);
    scheduleRedraw();
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(
      () => reject(new BrokerError(`lab: no connection to ${url} within ${CONNECT_TIMEOUT_MS} ms`, url)),
      CONNECT_TIMEOUT_MS + 500,
    );
    client.once("connect", () => (clearTimeout(t), resolve()));
    client.once("error", (e) => (clearTimeout(t), reject(new BrokerError(`lab: ${url}: ${e.message}`, url))));
  })
    .then(() => client.subscribeAsync(["labdaemon/+/status", "labdaemon/+/devices/+/state"], { qos: 1 }))
    .catch((e) => {
      client.end(true);
      throw e instanceof BrokerError ? e : new BrokerError(`lab: ${url}: ${(e as Error).message}`, url);
    });

  let timer: ReturnType<typeof setTimeout> | null = null;
  function scheduleRedraw() {
    if (values.once || timer) return;
    timer = setTimeout(() => {
      timer = null;
      process.stdout.write(`${(process.stdout.isTTY ? "\x1b[2J\x1b[H" : "") + renderTable(servers)}\n`);
    }, REDRAW_MS);
  }
  if (values.once) {
    // Retained state arrives right after the subscription; MQTT has no marker for its end.
    await new Promise((r) => setTimeout(r, waitMs));
    process.stdout.write(`${renderTable(servers)}\n`);
    await client.endAsync();
    return 0;
  }
  scheduleRedraw();
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await client.endAsync(true);
  return 0;
}

/** The broker cannot be reached or refused the subscription: one line and exit status 1, no stack. */
class BrokerError extends Error {
  override name = "BrokerError";
  readonly context: { url: string };
  constructor(message: string, url: string) {
    super(message);
    this.context = { url };
  }
}

export function renderTable(servers: Map<string, ServerView>): string {
  const rows: string[][] = [["SERVER", "STATE", "URL", "DEVICE", "TYPE", "CONNECTED", "STREAMING", "OWNER"]];
  for (const [name, view] of [...servers].sort(([a], [b]) => a.localeCompare(b))) {
    const state = view.status === null ? "?" : view.status.online ? "online" : "offline";
    const url = String(view.status?.url ?? "");
    const devices = [...view.devices].sort(([a], [b]) => a.localeCompare(b));
    if (devices.length === 0) rows.push([name, state, url, "-", "", "", "", ""]);
    for (const [id, d] of devices) {
      rows.push([
        name,
        state,
        url,
        id,
        String(d.device_type ?? ""),
        yesNo(d.connected),
        yesNo(d.streaming),
        String(d.owned_by ?? "-"),
      ]);
    }
  }
  if (rows.length === 1) return "no labdaemon server has published to this broker";
  // Anyone who may publish to the broker writes these cells: no terminal control sequences get through.
  for (const r of rows) for (let i = 0; i < r.length; i++) r[i] = r[i]!.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

const yesNo = (v: unknown) => (v === true ? "yes" : v === false ? "no" : "?");

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}
