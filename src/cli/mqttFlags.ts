// serve's --mqtt* flags: the broker to publish to, its credentials and TLS files, and what to publish.
import { existsSync } from "node:fs";
import type { MqttBridgeOptions } from "../bridge/mqtt.ts";
import { UsageError } from "./args.ts";

export const MQTT_FLAGS = {
  mqtt: { type: "string" },
  "mqtt-name": { type: "string" },
  "mqtt-username": { type: "string" },
  "mqtt-ca": { type: "string" },
  "mqtt-cert": { type: "string" },
  "mqtt-key": { type: "string" },
  "mqtt-commands": { type: "boolean" },
  "mqtt-stream-rate": { type: "string" },
} as const;

const URL_SCHEMES = ["mqtt:", "mqtts:", "ws:", "wss:", "tcp:", "ssl:"];

/** The bridge's options from the flags, or null without --mqtt; every mistake is a UsageError. */
export function mqttOptions(
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): Omit<MqttBridgeOptions, "serverToken"> | null {
  const get = (k: string) => values[k] as string | undefined;
  const url = get("mqtt");
  if (url === undefined) {
    const stray = Object.keys(MQTT_FLAGS).find((k) => k !== "mqtt" && values[k] !== undefined);
    if (stray) throw new UsageError(`serve: --${stray} needs --mqtt URL`);
    return null;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`serve: --mqtt takes a broker URL such as mqtt://broker:1883, got '${url}'`);
  }
  if (!URL_SCHEMES.includes(parsed.protocol))
    throw new UsageError(`serve: --mqtt URL must start with mqtt://, mqtts://, ws:// or wss://, got '${url}'`);
  const name = get("mqtt-name");
  if (name !== undefined && !/^[A-Za-z0-9_.-]{1,100}$/.test(name))
    throw new UsageError(`serve: --mqtt-name must be 1–100 letters, digits, '_', '-' or '.', got '${name}'`);
  for (const k of ["mqtt-ca", "mqtt-cert", "mqtt-key"]) {
    const f = get(k);
    if (f !== undefined && !existsSync(f)) throw new UsageError(`serve: --${k} ${f}: no such file`);
  }
  const rateText = get("mqtt-stream-rate");
  const rate = rateText === undefined ? undefined : Number(rateText);
  if (rate !== undefined && (!Number.isFinite(rate) || rate < 0 || rate > 1000 || rateText!.trim() === "")) {
    throw new UsageError(`serve: --mqtt-stream-rate takes messages per second per device, 0–1000, got '${rateText}'`);
  }
  const username = get("mqtt-username");
  const password = env.LABDAEMON_MQTT_PASSWORD || undefined;
  if (password !== undefined && username === undefined)
    throw new UsageError("serve: $LABDAEMON_MQTT_PASSWORD needs --mqtt-username");
  return {
    url,
    name,
    username,
    password,
    caFile: get("mqtt-ca"),
    certFile: get("mqtt-cert"),
    keyFile: get("mqtt-key"),
    commands: values["mqtt-commands"] === true,
    streamRateHz: rate,
  };
}
