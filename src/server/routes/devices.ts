// /devices: registry, state, lifecycle, remote calls and stored errors of devices.
import { Elysia } from "elysia";
import type { DeviceState } from "../../core/daemon.ts";
import {
  BusyError,
  DaemonClosedError,
  DeviceInUseError,
  DeviceLeasedError,
  DeviceNotFoundError,
  DeviceTimeoutError,
  ValidationError,
  asError,
} from "../../core/errors.ts";
import { isoNow } from "../../core/events.ts";
import { isCallRefusal } from "../../core/deviceCall.ts";
import { HttpError, deviceFailureStatus } from "../errors.ts";
import { jsonResponse } from "../json.ts";
import {
  AddDeviceRequestSchema,
  AddDeviceResponseSchema,
  CallRequestSchema,
  CallResponseSchema,
  ConnectResponseSchema,
  DeviceDetailSchema,
  DeviceListSchema,
  ErrorEnvelopeSchema,
  MethodListSchema,
  RemoveDeviceResponseSchema,
  StoredErrorSchema,
  StreamStopResponseSchema,
  type DeviceDetail,
  type DeviceInfo,
} from "../schemas.ts";
import { creationRequest, leaseIdOf, noBody, objectBody, type RouteContext } from "./context.ts";
import { doc } from "./doc.ts";
import { historicError } from "./taskHistory.ts";

const E = ErrorEnvelopeSchema;
const noError = (id: string) => new HttpError(404, "NoError", "No error recorded for device", { device_id: id });

/**
 * POST /devices/{id}/call as a plain function: the Elysia route uses it, and so does the server's fast
 * path for JSON bodies (the hot route of the API).
 */
export function callHandler(
  ctx: RouteContext,
): (deviceId: string, body: unknown, leaseId?: string) => Promise<Response> {
  const { daemon } = ctx;
  return async (id, body, leaseId) => {
    const b = objectBody(body);
    let result: unknown;
    try {
      // The daemon binds kwargs and validates exactly as for an in-process daemon.call. No HTTP request
      // waits forever on a hung instrument: the device's own bound, else the server's.
      result = await daemon.call(
        id,
        b.method as string,
        { args: b.args, kwargs: b.kwargs },
        { defaultTimeoutMs: ctx.callTimeoutMs, asClient: true, leaseId },
      );
    } catch (err) {
      // Refused before it reached the device (unknown device or method, bad arguments, owned, shut down).
      if (isCallRefusal(err)) throw err;
      // The device itself went away mid-call: the framework's 404. A device method that failed to find
      // another device is that method's failure, reported as such.
      if (err instanceof DeviceNotFoundError && err.context.device_id === id) throw err;
      // Refusals of the framework's own (queue full, shut down, a task claimed the device while this call
      // waited, arguments refused by the method's schema) are not the device's failure.
      if (
        err instanceof BusyError ||
        err instanceof DaemonClosedError ||
        err instanceof DeviceInUseError ||
        err instanceof DeviceLeasedError ||
        err instanceof ValidationError
      )
        throw err;
      throw deviceFailure(err, { device_id: id, method: b.method });
    }
    // Scalars (the usual answer) skip the careful encoder; JSON.stringify already turns NaN into null.
    if (
      result === undefined ||
      result === null ||
      typeof result === "number" ||
      typeof result === "string" ||
      typeof result === "boolean"
    ) {
      return Response.json({ result: result ?? null, success: true });
    }
    return jsonResponse({ result, success: true });
  };
}

/** `callDevice`: the server's one callHandler(ctx), which its /call fast path runs too. */
export function deviceRoutes(ctx: RouteContext, callDevice: ReturnType<typeof callHandler>) {
  const { daemon, errors } = ctx;

  const info = (s: DeviceState): DeviceInfo => ({
    device_id: s.deviceId,
    device_type: s.deviceType,
    connected: s.connected,
    streaming: s.streaming,
    owned_by: s.ownedBy,
    last_error: errors.deviceError(s.deviceId),
    busy: s.busy,
    pending: s.pending,
    lease: s.lease,
    last_forced_release: s.lastForcedRelease,
  });

  return new Elysia()
    .get("/devices", () => ({ devices: daemon.listDevices().map(info) }), {
      detail: doc({
        summary: "List devices (tracked state: never waits behind a busy device)",
        tags: ["devices"],
        responses: { 200: DeviceListSchema },
      }),
    })

    .post(
      "/devices",
      ({ body }) => {
        const { id, type, params } = creationRequest(body, "device");
        daemon.addDevice(id, type, params);
        return { device_id: id, device_type: type, connected: false, streaming: false, owned_by: null };
      },
      {
        detail: doc({
          body: AddDeviceRequestSchema,
          summary: "Add a device (not connected)",
          tags: ["devices"],
          responses: { 200: AddDeviceResponseSchema, 400: E, 404: E, 409: E, 422: E },
        }),
      },
    )

    .get(
      "/devices/:device_id",
      ({ params }): DeviceDetail => {
        const s = daemon.deviceState(params.device_id);
        return { ...info(s), stream: ctx.sse.stats(s.deviceId) };
      },
      {
        detail: doc({
          summary: "One device, with its SSE stream figures",
          tags: ["devices"],
          responses: { 200: DeviceDetailSchema, 404: E },
        }),
      },
    )

    .delete(
      "/devices/:device_id",
      async ({ params, request }) => {
        await noBody(request);
        const id = daemon.deviceState(params.device_id).deviceId;
        await daemon.removeDevice(id, { timeoutMs: ctx.stopTimeoutMs, asClient: true, leaseId: leaseIdOf(request) });
        return { status: "removed" as const, device_id: id };
      },
      {
        parse: "none",
        detail: doc({
          summary: "Stop, disconnect and remove a device",
          tags: ["devices"],
          responses: { 200: RemoveDeviceResponseSchema, 400: E, 404: E, 409: E },
        }),
      },
    )

    .get(
      "/devices/:device_id/methods",
      ({ params }) => {
        // Schema defaults are the driver's values: serialised as carefully as call results.
        return jsonResponse({ methods: daemon.describeMethods(params.device_id) });
      },
      {
        detail: doc({
          summary:
            "The methods /call accepts (its class's static remote list when it declares one): name, parameters (name, type, required, default), doc",
          tags: ["devices"],
          responses: { 200: MethodListSchema, 404: E },
        }),
      },
    )

    .get(
      "/devices/:device_id/error",
      ({ params }) => {
        daemon.deviceState(params.device_id);
        // An error recorded before a restart is still the device's last one until cleared.
        const stored =
          errors.deviceError(params.device_id) ??
          (ctx.data ? historicError(ctx.data, "device", params.device_id) : null);
        if (!stored) throw noError(params.device_id);
        return stored;
      },
      {
        detail: doc({
          summary: "Last error recorded for the device",
          tags: ["errors"],
          responses: { 200: StoredErrorSchema, 404: E },
        }),
      },
    )

    .delete(
      "/devices/:device_id/error",
      async ({ params, request }) => {
        await noBody(request);
        const kept = ctx.data ? historicError(ctx.data, "device", params.device_id) !== null : false;
        if (kept) ctx.data!.catalogue.dropError("device", params.device_id);
        if (!errors.clearDeviceError(params.device_id) && !kept) throw noError(params.device_id);
        return new Response(null, { status: 204 });
      },
      {
        parse: "none",
        detail: doc({
          summary: "Clear the device's recorded error",
          tags: ["errors"],
          responses: { 204: {}, 400: E, 404: E },
        }),
      },
    )

    .post(
      "/devices/:device_id/connect",
      async ({ params, request }) => {
        await noBody(request);
        const id = daemon.deviceState(params.device_id).deviceId;
        daemon.assertNotOwned(id, " and cannot be connected");
        if (daemon.deviceState(id).connected)
          return { device_id: id, connected: true, message: "Device is already connected" };
        try {
          await daemon.connectDevice(id, {
            timeoutMs: ctx.connectTimeoutMs,
            asClient: true,
            leaseId: leaseIdOf(request),
          });
        } catch (err) {
          throw lifecycleFailure(err, "DeviceConnectionError", `Failed to connect device '${id}'`, id);
        }
        const s = daemon.deviceState(id);
        return { device_id: id, connected: s.connected, streaming: s.streaming, owned_by: daemon.ownerOf(id) };
      },
      {
        parse: "none",
        detail: doc({
          summary: "Connect the device",
          tags: ["devices"],
          responses: { 200: ConnectResponseSchema, 400: E, 404: E, 409: E, 503: E, 504: E },
        }),
      },
    )

    .post(
      "/devices/:device_id/disconnect",
      async ({ params, request }) => {
        await noBody(request);
        const id = daemon.deviceState(params.device_id).deviceId;
        daemon.assertNotOwned(id, " and cannot be disconnected");
        if (!daemon.deviceState(id).connected)
          return { device_id: id, connected: false, message: "Device is already disconnected" };
        try {
          await ctx.sse.onClientRequest(id, () =>
            daemon.disconnectDevice(id, {
              timeoutMs: ctx.connectTimeoutMs,
              asClient: true,
              leaseId: leaseIdOf(request),
            }),
          );
        } catch (err) {
          throw lifecycleFailure(err, "DeviceDisconnectionError", `Failed to disconnect device '${id}'`, id);
        }
        const s = daemon.deviceState(id);
        return { device_id: id, connected: s.connected, streaming: s.streaming, owned_by: daemon.ownerOf(id) };
      },
      {
        parse: "none",
        detail: doc({
          summary: "Disconnect the device (stops its stream first)",
          tags: ["devices"],
          responses: { 200: ConnectResponseSchema, 400: E, 404: E, 409: E, 503: E, 504: E },
        }),
      },
    )

    .post(
      "/devices/:device_id/call",
      ({ params, body, request }) => callDevice(params.device_id, body, leaseIdOf(request)),
      {
        detail: doc({
          body: CallRequestSchema,
          summary: "Call a public method of the device (serialised with every other caller)",
          tags: ["devices"],
          responses: { 200: CallResponseSchema, 400: E, 404: E, 409: E, 422: E, 500: E, 503: E, 504: E },
        }),
      },
    )

    .post(
      "/devices/:device_id/stream/stop",
      async ({ params, request }) => {
        await noBody(request);
        const state = daemon.deviceState(params.device_id);
        const id = state.deviceId;
        daemon.assertNotOwned(id, " and its stream cannot be stopped");
        // A stream started in-process (a script, a task) belongs to that code: a client must not cut it.
        if (state.streaming && state.streamStartedBy === "local") {
          throw new DeviceInUseError(
            `The stream of device '${id}' was started in-process (by a script or a task) and can only be stopped there`,
            { device_id: id, stream_started_by: "local" },
          );
        }
        await ctx.sse.onClientRequest(id, () =>
          daemon.stopStreaming(id, ctx.stopTimeoutMs, { asClient: true, leaseId: leaseIdOf(request) }),
        );
        return { status: "stopped" as const, device_id: id, timestamp: isoNow() };
      },
      {
        parse: "none",
        detail: doc({
          summary:
            "Stop the device's stream for every subscriber (409 if a task owns the device or in-process code started the stream)",
          tags: ["stream"],
          responses: { 200: StreamStopResponseSchema, 400: E, 404: E, 409: E },
        }),
      },
    );
}

/** What a device's own code threw, as the envelope: its class name, origin "device". */
function deviceFailure(err: unknown, context: Record<string, unknown>): HttpError {
  const e = asError(err);
  return HttpError.thrown(deviceFailureStatus(err), e.name || "Error", e.message, context);
}

function lifecycleFailure(
  err: unknown,
  type: "DeviceConnectionError" | "DeviceDisconnectionError",
  prefix: string,
  id: string,
): Error {
  // The framework's own refusals (503 shut down, 409 a task claimed the device while this waited).
  if (err instanceof DaemonClosedError || err instanceof DeviceInUseError || err instanceof DeviceLeasedError)
    return err;
  if (err instanceof DeviceTimeoutError) {
    return new HttpError(504, "DeviceTimeoutError", `${prefix}: ${err.message}`, { device_id: id }, "device");
  }
  const e = asError(err);
  return new HttpError(400, type, `${prefix}: ${e.message}`, { device_id: id, error_type: e.name }, "device");
}
