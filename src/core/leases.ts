// Device leases: exclusive control of a device by one client (a person at a dashboard, a script) for a
// bounded time. While a lease is live, client commands on the device need its lease id; reads never do.
// A lease ends when released, when its time runs out, or when an administrator forces it.
import { randomUUID } from "node:crypto";
import { DeviceLeasedError, InvalidRequestError, LeaseNotFoundError } from "./errors.ts";
import { isoMillis } from "./events.ts";

/** The longest lease: a day. Longer control means renewing. */
export const MAX_LEASE_MS = 24 * 3600 * 1000;
const MAX_HOLDER_LENGTH = 200;

export interface Lease {
  readonly leaseId: string;
  readonly deviceId: string;
  readonly holder: string;
  /** ms since the epoch. */
  expiresAt: number;
  /** The lifetime it was last given, ms: a renewal without one keeps it. */
  ttlMs: number;
}

/** What anyone may see of a lease: never its id, which is the holder's key. */
export interface LeaseInfo {
  holder: string;
  expires_at: string;
}

export interface ForcedRelease {
  holder: string;
  released_at: string;
  by: string;
}

export type LeaseChange = "acquired" | "renewed" | "released" | "expired" | "forced";

interface Held extends Lease {
  timer: ReturnType<typeof setTimeout>;
}

export class Leases {
  private readonly held = new Map<string, Held>();
  private readonly forced = new Map<string, ForcedRelease>();

  constructor(private readonly onChange: (deviceId: string, change: LeaseChange, lease: Lease) => void = () => {}) {}

  /** The live lease's public face, or null. */
  info(deviceId: string): LeaseInfo | null {
    const l = this.live(deviceId);
    return l ? { holder: l.holder, expires_at: isoMillis(l.expiresAt) } : null;
  }

  /** The last forced release of the device's lease, if any. */
  lastForced(deviceId: string): ForcedRelease | null {
    return this.forced.get(deviceId) ?? null;
  }

  acquire(deviceId: string, ttlMs: number, holder = "anonymous"): Lease {
    checkTtl(ttlMs);
    if (
      typeof holder !== "string" ||
      holder.length === 0 ||
      holder.length > MAX_HOLDER_LENGTH ||
      /[\u0000-\u001f]/.test(holder)
    ) {
      throw new InvalidRequestError(`holder must be 1–${MAX_HOLDER_LENGTH} printable characters`, {
        device_id: deviceId,
      });
    }
    const current = this.live(deviceId);
    if (current) throw leased(deviceId, current, "");
    const lease: Held = {
      leaseId: randomUUID(),
      deviceId,
      holder,
      expiresAt: Date.now() + ttlMs,
      ttlMs,
      timer: undefined!,
    };
    this.arm(lease);
    this.held.set(deviceId, lease);
    this.onChange(deviceId, "acquired", lease);
    return lease;
  }

  renew(deviceId: string, leaseId: string | undefined, ttlMs?: number): Lease {
    const l = this.own(deviceId, leaseId);
    if (ttlMs !== undefined) checkTtl(ttlMs);
    l.ttlMs = ttlMs ?? l.ttlMs;
    l.expiresAt = Date.now() + l.ttlMs;
    this.arm(l);
    this.onChange(deviceId, "renewed", l);
    return l;
  }

  release(deviceId: string, leaseId: string | undefined): void {
    this.end(this.own(deviceId, leaseId), "released");
  }

  /** Ends whoever's lease the device has (an administrator's act); null when there was none. */
  forceRelease(deviceId: string, by: string): Lease | null {
    const l = this.live(deviceId);
    if (!l) return null;
    this.forced.set(deviceId, { holder: l.holder, released_at: isoMillis(Date.now()), by });
    this.end(l, "forced");
    return l;
  }

  /** Throws DeviceLeased unless the device is free of leases or `leaseId` is its live lease; `suffix` ends the message. */
  assertMay(deviceId: string, leaseId: string | undefined, suffix = ""): void {
    const l = this.live(deviceId);
    if (l && l.leaseId !== leaseId) throw leased(deviceId, l, suffix || mismatch(leaseId));
  }

  /** The device is gone: its lease (and what is remembered of it) with it. */
  drop(deviceId: string): void {
    const l = this.held.get(deviceId);
    if (l) clearTimeout(l.timer);
    this.held.delete(deviceId);
    this.forced.delete(deviceId);
  }

  /** Every lease ends (the daemon shuts down). */
  clear(): void {
    for (const l of this.held.values()) clearTimeout(l.timer);
    this.held.clear();
  }

  private own(deviceId: string, leaseId: string | undefined): Held {
    const l = this.live(deviceId);
    if (!l)
      throw new LeaseNotFoundError(
        `Device '${deviceId}' has no lease (it expired, was released, or was never granted)`,
        { device_id: deviceId },
      );
    if (l.leaseId !== leaseId) throw leased(deviceId, l, mismatch(leaseId));
    return l;
  }

  /** The lease if it is still live; one whose time is up ends here even if its timer has not fired yet. */
  private live(deviceId: string): Held | null {
    const l = this.held.get(deviceId);
    if (!l) return null;
    if (l.expiresAt <= Date.now()) {
      this.end(l, "expired");
      return null;
    }
    return l;
  }

  private arm(l: Held): void {
    clearTimeout(l.timer);
    l.timer = setTimeout(() => this.live(l.deviceId), Math.max(1, l.expiresAt - Date.now() + 1));
    l.timer.unref?.();
  }

  private end(l: Held, change: LeaseChange): void {
    if (this.held.get(l.deviceId) !== l) return;
    clearTimeout(l.timer);
    this.held.delete(l.deviceId);
    this.onChange(l.deviceId, change, l);
  }
}

function leased(deviceId: string, l: Lease, suffix: string): DeviceLeasedError {
  return new DeviceLeasedError(
    `Device '${deviceId}' is leased by '${l.holder}' until ${isoMillis(l.expiresAt)}${suffix}`,
    { device_id: deviceId, holder: l.holder, expires_at: isoMillis(l.expiresAt) },
  );
}

/** Why a request does not hold the device's lease: it sent no lease id, or another one. */
function mismatch(leaseId: string | undefined): string {
  return leaseId === undefined ? " (send its lease id as X-Lease-Id)" : " (the lease id sent is not its)";
}

function checkTtl(ttlMs: number): void {
  if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > MAX_LEASE_MS) {
    throw new InvalidRequestError(`ttl must be more than 0 and at most ${MAX_LEASE_MS / 1000} s`, {
      ttl_ms: Number.isFinite(ttlMs) ? ttlMs : String(ttlMs),
    });
  }
}
