// ServerAPI: every HTTP route of a labdaemon server as a typed method. The types are the server's own
// wire schemas (imported as types only: the client carries no server code); transport.ts sends them.
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
import { ServerAPIError } from "./errors.ts";
import { DeviceLease, type LeaseReleaseResponse, type LeaseResponse } from "./lease.ts";
import { type RequestOptions, type Requester, Transport, seg } from "./transport.ts";

export interface ServerAPIOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /**
   * Bound on each request, response body included, ms. Default 70000: longer than the server's own bound
   * on a device call (60 s), so a slow call ends with the server's 504 DeviceTimeoutError, not a client timeout.
   * A download (`downloadRun`) is bounded to its headers and then between chunks, however long it takes.
   */
  timeoutMs?: number;
  /** Largest answer read, bytes (default 64 MiB); a larger one is an InvalidResponse error. */
  maxResponseBytes?: number;
  /** A fetch to use instead of the global one (tests, proxies). */
  fetch?: typeof fetch;
}

export class ServerAPI implements Requester {
  readonly baseUrl: string;
  private readonly transport: Transport;

  constructor(baseUrl = "http://127.0.0.1:5000", opts: ServerAPIOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.transport = new Transport({
      baseUrl: this.baseUrl,
      token: opts.token,
      timeoutMs: opts.timeoutMs ?? 70_000,
      maxResponseBytes: opts.maxResponseBytes ?? 64 * 1024 * 1024,
      fetchFn: opts.fetch ?? fetch,
    });
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
  /**
   * The run's HDF5 file (bytes), or with `format: "csv"` the CSV text of its one dataset (or `dataset`).
   * `timeoutMs` bounds the wait for the answer and then each wait for more of it, not the whole transfer.
   */
  async downloadRun(runId: string, opts: { format?: "hdf5"; dataset?: never } & RequestOptions): Promise<Uint8Array>;
  async downloadRun(runId: string, opts: { format: "csv"; dataset?: string } & RequestOptions): Promise<string>;
  async downloadRun(
    runId: string,
    opts: { format?: "hdf5" | "csv"; dataset?: string } & RequestOptions = {},
  ): Promise<Uint8Array | string> {
    const q = new URLSearchParams();
    if (opts.format) q.set("format", opts.format);
    if (opts.dataset !== undefined) q.set("dataset", opts.dataset);
    const bytes = await this.transport.download(`/runs/${seg(runId)}/file${q.size ? `?${q}` : ""}`, opts);
    return opts.format === "csv" ? new TextDecoder().decode(bytes) : bytes;
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
  /**
   * Ends whoever's lease the device has (the administrator's way out): needs a server with a token (403
   * ForceNotAllowed otherwise). `status` is `force_released` with the `holder` it ended, or `not_leased`.
   */
  forceReleaseLease(deviceId: string, o?: RequestOptions): Promise<LeaseReleaseResponse> {
    return this.request("DELETE", `/devices/${seg(deviceId)}/lease?force=true`, undefined, o);
  }

  // ---------------------------------------------------------------- transport

  /** One request: JSON in, JSON out (nothing for 204); errors as ServerAPIError / ServerConnectionError. */
  request<T>(method: string, path: string, body?: unknown, o: RequestOptions = {}): Promise<T> {
    return this.transport.request(method, path, body, o);
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
