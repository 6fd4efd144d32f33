// ServerAPI: every HTTP route of a labdaemon server as a typed method. The types are the server's own
// wire schemas (imported as types only: the client carries no server code).
import type {
  AddDeviceResponse,
  CallResponse,
  ConnectResponse,
  DeviceDetail,
  DeviceList,
  ExecuteTaskResponse,
  GetParameterResponse,
  Health,
  MethodList,
  RemoveDeviceResponse,
  ServerInfo,
  SetParameterResponse,
  Types,
  StoredError,
  StreamStopResponse,
  TaskControlResponse,
  TaskDetail,
  TaskList,
} from "../server/schemas.ts";
import type { DeleteRunResponse, RecordRequest, RecordResponse, RunDetail, RunList } from "../server/runSchemas.ts";
import { ServerAPIError, ServerConnectionError, errorFromResponse, readBounded } from "./errors.ts";
import { clip } from "../core/clip.ts";

export interface ServerAPIOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /**
   * Bound on each request, response body included, ms. Default 70000: longer than the server's own bound
   * on a device call (60 s), so a slow call ends with the server's 504 DeviceTimeoutError, not a client timeout.
   */
  timeoutMs?: number;
  /** Largest answer read, bytes (default 64 MiB); a larger one is an InvalidResponse error. */
  maxResponseBytes?: number;
  /** A fetch to use instead of the global one (tests, proxies). */
  fetch?: typeof fetch;
}

export interface RequestOptions {
  /** This request's bound, ms (overrides the client's). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Sent as X-Lease-Id: the lease a command on a leased device needs (see `lease()`). */
  leaseId?: string;
}

export class ServerAPI {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly fetchFn: typeof fetch;

  constructor(baseUrl = "http://127.0.0.1:5000", opts: ServerAPIOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 70_000;
    this.maxResponseBytes = opts.maxResponseBytes ?? 64 * 1024 * 1024;
    this.fetchFn = opts.fetch ?? fetch;
  }

  // ---------------------------------------------------------------- meta

  info(o?: RequestOptions): Promise<ServerInfo> {
    return this.request("GET", "/", undefined, o);
  }
  health(o?: RequestOptions): Promise<Health> {
    return this.request("GET", "/health", undefined, o);
  }
  /** Registered device and task types with the JSON schema of their params (null where undeclared). */
  types(o?: RequestOptions): Promise<Types> {
    return this.request("GET", "/types", undefined, o);
  }

  // ---------------------------------------------------------------- devices

  listDevices(o?: RequestOptions): Promise<DeviceList> {
    return this.request("GET", "/devices", undefined, o);
  }
  getDevice(deviceId: string, o?: RequestOptions): Promise<DeviceDetail> {
    return this.request("GET", `/devices/${seg(deviceId)}`, undefined, o);
  }
  getDeviceMethods(deviceId: string, o?: RequestOptions): Promise<MethodList> {
    return this.request("GET", `/devices/${seg(deviceId)}/methods`, undefined, o);
  }
  addDevice(
    deviceId: string,
    deviceType: string,
    params: Record<string, unknown> = {},
    o?: RequestOptions,
  ): Promise<AddDeviceResponse> {
    return this.request("POST", "/devices", { device_id: deviceId, device_type: deviceType, params }, o);
  }
  removeDevice(deviceId: string, o?: RequestOptions): Promise<RemoveDeviceResponse> {
    return this.request("DELETE", `/devices/${seg(deviceId)}`, undefined, o);
  }
  connectDevice(deviceId: string, o?: RequestOptions): Promise<ConnectResponse> {
    return this.request("POST", `/devices/${seg(deviceId)}/connect`, undefined, o);
  }
  disconnectDevice(deviceId: string, o?: RequestOptions): Promise<ConnectResponse> {
    return this.request("POST", `/devices/${seg(deviceId)}/disconnect`, undefined, o);
  }
  /** Calls a device method; resolves to its return value (the response's `result`). */
  async callDeviceMethod<T = unknown>(
    deviceId: string,
    method: string,
    args: unknown[] = [],
    kwargs?: Record<string, unknown>,
    o?: RequestOptions,
  ): Promise<T> {
    const body: Record<string, unknown> = { method, args };
    if (kwargs) body.kwargs = kwargs;
    const r = await this.request<CallResponse>("POST", `/devices/${seg(deviceId)}/call`, body, o);
    return r.result as T;
  }
  stopDeviceStream(deviceId: string, o?: RequestOptions): Promise<StreamStopResponse> {
    return this.request("POST", `/devices/${seg(deviceId)}/stream/stop`, undefined, o);
  }
  /** The device's last recorded error, or null when there is none. */
  getDeviceError(deviceId: string, o?: RequestOptions): Promise<StoredError | null> {
    return this.orNullOnNoError(this.request("GET", `/devices/${seg(deviceId)}/error`, undefined, o));
  }
  clearDeviceError(deviceId: string, o?: RequestOptions): Promise<void> {
    return this.request("DELETE", `/devices/${seg(deviceId)}/error`, undefined, o);
  }

  // ---------------------------------------------------------------- tasks

  listTasks(o?: RequestOptions): Promise<TaskList> {
    return this.request("GET", "/tasks", undefined, o);
  }
  getTask(taskId: string, o?: RequestOptions): Promise<TaskDetail> {
    return this.request("GET", `/tasks/${seg(taskId)}`, undefined, o);
  }
  executeTask(
    taskId: string,
    taskType: string,
    params: Record<string, unknown> = {},
    o?: RequestOptions,
  ): Promise<ExecuteTaskResponse> {
    return this.request("POST", "/tasks", { task_id: taskId, task_type: taskType, params }, o);
  }
  /** `force`: record it cancelled and free its devices even if its run() ignores cancellation. */
  cancelTask(taskId: string, opts: RequestOptions & { force?: boolean } = {}): Promise<TaskControlResponse> {
    return this.request("POST", `/tasks/${seg(taskId)}/cancel${opts.force ? "?force=true" : ""}`, undefined, opts);
  }
  pauseTask(taskId: string, o?: RequestOptions): Promise<TaskControlResponse> {
    return this.request("POST", `/tasks/${seg(taskId)}/pause`, undefined, o);
  }
  resumeTask(taskId: string, o?: RequestOptions): Promise<TaskControlResponse> {
    return this.request("POST", `/tasks/${seg(taskId)}/resume`, undefined, o);
  }
  setTaskParameter(taskId: string, key: string, value: unknown, o?: RequestOptions): Promise<SetParameterResponse> {
    return this.request("POST", `/tasks/${seg(taskId)}/parameters`, { key, value }, o);
  }
  /** Resolves to the parameter's value. */
  async getTaskParameter<T = unknown>(taskId: string, key: string, o?: RequestOptions): Promise<T> {
    const r = await this.request<GetParameterResponse>(
      "GET",
      `/tasks/${seg(taskId)}/parameters/${seg(key)}`,
      undefined,
      o,
    );
    return r.value as T;
  }
  /** The task's recorded error, or null when there is none. */
  getTaskError(taskId: string, o?: RequestOptions): Promise<StoredError | null> {
    return this.orNullOnNoError(this.request("GET", `/tasks/${seg(taskId)}/error`, undefined, o));
  }
  clearTaskError(taskId: string, o?: RequestOptions): Promise<void> {
    return this.request("DELETE", `/tasks/${seg(taskId)}/error`, undefined, o);
  }

  // ---------------------------------------------------------------- recordings (servers with a data directory)

  /** Records the device's stream to an HDF5 file until stopRun (or `duration_s`). */
  recordDevice(deviceId: string, opts: RecordRequest = {}, o?: RequestOptions): Promise<RecordResponse> {
    return this.request("POST", `/devices/${seg(deviceId)}/record`, opts, o);
  }
  /** Newest first; `since`/`until` as ISO-8601 or epoch seconds. */
  listRuns(
    filter: { task_id?: string; device_id?: string; since?: string; until?: string; limit?: number } = {},
    o?: RequestOptions,
  ): Promise<RunList> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v !== undefined) q.set(k, String(v));
    const qs = q.toString();
    return this.request("GET", `/runs${qs ? `?${qs}` : ""}`, undefined, o);
  }
  getRun(runId: string, o?: RequestOptions): Promise<RunDetail> {
    return this.request("GET", `/runs/${seg(runId)}`, undefined, o);
  }
  stopRun(runId: string, o?: RequestOptions): Promise<RunDetail> {
    return this.request("POST", `/runs/${seg(runId)}/stop`, undefined, o);
  }
  deleteRun(runId: string, o?: RequestOptions): Promise<DeleteRunResponse> {
    return this.request("DELETE", `/runs/${seg(runId)}`, undefined, o);
  }
  /** Starts the run's task type again with the same parameters (as `taskId`, or `<old id>-<n>`). */
  resubmitRun(runId: string, taskId?: string, o?: RequestOptions): Promise<ExecuteTaskResponse> {
    return this.request("POST", `/runs/${seg(runId)}/resubmit`, taskId === undefined ? {} : { task_id: taskId }, o);
  }
  /** The run's HDF5 file (bytes), or with `format: "csv"` the CSV text of its one dataset (or `dataset`). */
  async downloadRun(runId: string, opts: { format?: "hdf5"; dataset?: never } & RequestOptions): Promise<Uint8Array>;
  async downloadRun(runId: string, opts: { format: "csv"; dataset?: string } & RequestOptions): Promise<string>;
  async downloadRun(
    runId: string,
    opts: { format?: "hdf5" | "csv"; dataset?: string } & RequestOptions = {},
  ): Promise<Uint8Array | string> {
    const q = new URLSearchParams();
    if (opts.format) q.set("format", opts.format);
    if (opts.dataset !== undefined) q.set("dataset", opts.dataset);
    const path = `/runs/${seg(runId)}/file${q.size ? `?${q}` : ""}`;
    assertSegments("GET", path);
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs);
    const headers: Record<string, string> = this.token ? { authorization: `Bearer ${this.token}` } : {};
    let res: Response;
    try {
      res = await this.fetchFn(this.baseUrl + path, {
        headers,
        signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
      });
    } catch (e) {
      throw new ServerConnectionError(
        `Failed to connect to ${this.baseUrl}: ${(e as Error)?.message ?? String(e)}`,
        { status: 0, type: "ConnectionError" },
        { method: "GET", path },
        { cause: e },
      );
    }
    if (!res.ok) throw await errorFromResponse(res, "GET", path);
    return opts.format === "csv" ? res.text() : new Uint8Array(await res.arrayBuffer());
  }

  // ---------------------------------------------------------------- leases

  /**
   * Leases a device for this client: until released (or `await using` ends), commands on it need the
   * lease, which `lease.options` carries (`api.callDeviceMethod(id, m, args, {}, lease.options)`). The lease
   * renews itself every third of its ttl; `onLost` hears when a renewal fails (expired, forced open).
   */
  async lease(
    deviceId: string,
    opts: { ttl?: number; holder?: string; onLost?: (e: Error) => void } = {},
    o?: RequestOptions,
  ): Promise<DeviceLease> {
    const ttl = opts.ttl ?? 60;
    const granted = await this.request<LeaseResponse>(
      "POST",
      `/devices/${seg(deviceId)}/lease`,
      { ttl_s: ttl, ...(opts.holder !== undefined ? { holder: opts.holder } : {}) },
      o,
    );
    return new DeviceLease(this, granted, ttl, opts.onLost);
  }

  // ---------------------------------------------------------------- transport

  /** One request: JSON in, JSON out (nothing for 204); errors as ServerAPIError / ServerConnectionError. */
  async request<T>(method: string, path: string, body?: unknown, o: RequestOptions = {}): Promise<T> {
    assertSegments(method, path);
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (o.leaseId !== undefined) headers["x-lease-id"] = o.leaseId;
    const url = this.baseUrl + path;
    // Outside the try below: a value JSON cannot hold is the caller's mistake, not an unreachable server.
    let payload: string | undefined;
    try {
      payload = body === undefined ? undefined : JSON.stringify(body);
    } catch (e) {
      throw new ServerAPIError(
        `${method} ${path}: the request body cannot be sent as JSON: ${(e as Error)?.message ?? e}`,
        { status: 0, type: "InvalidRequest" },
        { method, path },
        { cause: e },
      );
    }
    try {
      const res = await this.fetchFn(url, { method, headers, signal, body: payload });
      if (!res.ok) throw await errorFromResponse(res, method, path);
      if (res.status === 204) {
        await res.body?.cancel();
        return undefined as T;
      }
      const text = await readBounded(res, this.maxResponseBytes);
      if (text === null) {
        throw new ServerAPIError(
          `${method} ${path}: the answer is larger than ${this.maxResponseBytes} bytes (maxResponseBytes)`,
          { status: res.status, type: "InvalidResponse" },
          { method, path },
        );
      }
      if (!text) return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch (e) {
        throw new ServerAPIError(
          `Invalid JSON from ${method} ${path}: ${clip(text, 200)}`,
          { status: res.status, type: "InvalidResponse" },
          { method, path },
          { cause: e },
        );
      }
    } catch (e) {
      if (e instanceof ServerAPIError) throw e;
      if (timeout.aborted) {
        throw new ServerConnectionError(
          `Request timeout after ${timeoutMs} ms: ${method} ${url}`,
          { status: 0, type: "Timeout" },
          { method, path, timeout_ms: timeoutMs },
          { cause: e },
        );
      }
      if (o.signal?.aborted) throw e;
      throw new ServerConnectionError(
        `Failed to connect to ${this.baseUrl}: ${(e as Error)?.message ?? String(e)}`,
        { status: 0, type: "ConnectionError" },
        { method, path },
        { cause: e },
      );
    }
  }

  private async orNullOnNoError<T>(p: Promise<T>): Promise<T | null> {
    try {
      return await p;
    } catch (e) {
      if (e instanceof ServerAPIError && e.status === 404 && e.type === "NoError") return null;
      throw e;
    }
  }
}

/** One path segment: ids may hold characters that are not path-safe. */
function seg(s: string): string {
  return encodeURIComponent(s);
}

/**
 * An id or key of "", "." or ".." cannot travel as a path segment: URLs drop or resolve it (even as %2E),
 * so `getDevice("..")` would read GET / and hand back the server info as a device.
 */
function assertSegments(method: string, path: string): void {
  if (path === "/") return;
  const q = path.indexOf("?");
  for (const s of (q < 0 ? path : path.slice(0, q)).split("/").slice(1)) {
    if (s === "" || s === "." || s === "..") {
      throw new ServerAPIError(
        `${method} ${path}: an id or key cannot be ${s === "" ? "empty" : `'${s}'`}`,
        { status: 0, type: "InvalidRequest" },
        { method, path },
      );
    }
  }
}

export interface LeaseResponse {
  lease_id: string;
  device_id: string;
  holder: string;
  expires_at: string;
  ttl_s: number;
}

/** A live lease held by this client; renews itself in the background until released or disposed. */
export class DeviceLease implements AsyncDisposable {
  readonly leaseId: string;
  readonly deviceId: string;
  expiresAt: string;
  /** Request options that carry the lease: pass them to commands on the device. */
  readonly options: RequestOptions;
  private timer: ReturnType<typeof setInterval> | null;

  constructor(
    private readonly api: ServerAPI,
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
          if (e instanceof ServerAPIError && (e.status === 404 || e.status === 409) && this.stop()) this.onLost?.(e);
        }),
      Math.max(50, (ttlS * 1000) / 3),
    );
    // A renewal timer alone must not keep a script's process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }

  get active(): boolean {
    return this.timer !== null;
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

  /** Ends the lease (idempotent); the device is free for others at once. */
  async release(): Promise<void> {
    if (!this.stop()) return;
    try {
      await this.api.request("DELETE", `/devices/${seg(this.deviceId)}/lease`, undefined, this.options);
    } catch (e) {
      // Already gone (expired, or forced open and maybe taken by someone else): nothing left to release.
      if (!(e instanceof ServerAPIError && (e.status === 404 || e.status === 409))) throw e;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  private stop(): boolean {
    if (this.timer === null) return false;
    clearInterval(this.timer);
    this.timer = null;
    return true;
  }
}
