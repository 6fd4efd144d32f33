// Helpers for scripts and GUIs: is the server up, and make sure a device exists (and is connected).
import type { DeviceDetail } from "../server/schemas.ts";
import { ServerAPIError } from "./errors.ts";
import type { ServerAPI } from "./serverApi.ts";

/** True when `GET {url}/health` answers 200 with status "healthy" within `timeoutMs`; never throws. */
export async function ensureServer(
  url: string | null | undefined,
  opts: { timeoutMs?: number; token?: string } = {},
): Promise<boolean> {
  if (!url) return false;
  try {
    const res = await fetch(`${url.replace(/\/+$/, "")}/health`, {
      headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      return false;
    }
    const body = (await res.json()) as { status?: unknown };
    return body?.status === "healthy";
  } catch {
    return false;
  }
}

/**
 * The device's detail, after adding it (with `params`) if the server does not have it, and connecting it
 * unless `connect: false`. A device added meanwhile by another client counts as found.
 */
export async function ensureDevice(
  api: ServerAPI,
  deviceId: string,
  deviceType: string,
  opts: { connect?: boolean; params?: Record<string, unknown> } = {},
): Promise<DeviceDetail> {
  let device: DeviceDetail | null = null;
  try {
    device = await api.getDevice(deviceId);
  } catch (e) {
    if (!(e instanceof ServerAPIError && e.status === 404 && e.type === "DeviceNotFound")) throw e;
  }
  if (!device) {
    try {
      await api.addDevice(deviceId, deviceType, opts.params ?? {});
    } catch (e) {
      if (!(e instanceof ServerAPIError && e.status === 409 && e.type === "DeviceExists")) throw e;
    }
    device = await api.getDevice(deviceId);
  }
  if ((opts.connect ?? true) && !device.connected) {
    await api.connectDevice(deviceId);
    device = await api.getDevice(deviceId);
  }
  return device;
}
