// A device lease held by a client: renews itself in the background until released or disposed.
import { ServerAPIError } from "./errors.ts";
import { type RequestOptions, type Requester, seg } from "./transport.ts";

export interface LeaseResponse {
  lease_id: string;
  device_id: string;
  holder: string;
  expires_at: string;
  ttl_s: number;
}

/** What DELETE /devices/{id}/lease answers: whose lease ended, or that there was none. */
export interface LeaseReleaseResponse {
  status: "released" | "force_released" | "not_leased";
  device_id: string;
  holder: string | null;
}

/** A live lease held by this client; renews itself in the background until released or disposed. */
export class DeviceLease implements AsyncDisposable {
  readonly leaseId: string;
  readonly deviceId: string;
  expiresAt: string;
  /** Request options that carry the lease: pass them to commands on the device. */
  readonly options: RequestOptions;
  private timer: ReturnType<typeof setInterval> | null;
  /** Released, or found gone: set only once the server no longer holds it, so a failed release can be tried again. */
  private ended = false;

  constructor(
    private readonly api: Requester,
    granted: LeaseResponse,
    ttlS: number,
    private readonly onLost?: (e: Error) => void,
  ) {
    this.leaseId = granted.lease_id;
    this.deviceId = granted.device_id;
    this.expiresAt = granted.expires_at;
    this.options = { leaseId: this.leaseId };
    this.timer = setInterval(
      () =>
        void this.renew().catch((e: Error) => {
          // Lost for good (expired, released, forced open); an unreachable server is tried again next time.
          // A renewal that was under way when release() began is no loss: release() says how that went.
          if (isGone(e) && this.timer !== null) {
            this.ended = true;
            this.stopRenewing();
            this.onLost?.(e);
          }
        }),
      Math.max(50, (ttlS * 1000) / 3),
    );
    // A renewal timer alone must not keep a script's process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** True until the lease is released or found lost (a release that failed leaves it true). */
  get active(): boolean {
    return !this.ended;
  }

  async renew(): Promise<void> {
    const r = await this.api.request<LeaseResponse>(
      "POST",
      `/devices/${seg(this.deviceId)}/lease/renew`,
      undefined,
      this.options,
    );
    this.expiresAt = r.expires_at;
  }

  /**
   * Ends the lease (idempotent); the device is free for others at once. Renewals stop when it is called; if
   * the request fails (an unreachable server) it throws and may be called again while the lease lasts.
   */
  async release(): Promise<void> {
    if (this.ended) return;
    this.stopRenewing();
    try {
      await this.api.request("DELETE", `/devices/${seg(this.deviceId)}/lease`, undefined, this.options);
    } catch (e) {
      // Already gone (expired, or forced open and maybe taken by someone else): nothing left to release.
      if (!isGone(e)) throw e;
    }
    this.ended = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  private stopRenewing(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

/** The server no longer holds this lease: 404 (expired, released) or 409 (forced open, maybe leased again). */
function isGone(e: unknown): boolean {
  return e instanceof ServerAPIError && (e.status === 404 || e.status === 409);
}
