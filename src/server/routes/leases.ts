// /devices/{id}/lease: exclusive control of a device by one client for a bounded time. The lease id comes
// back once, to the holder, who sends it as X-Lease-Id with every command; GET /devices/{id} shows who
// holds a lease and until when, never its id.
import { Elysia, t } from "elysia";
import { LeaseNotFoundError } from "../../core/errors.ts";
import { isoMillis } from "../../core/events.ts";
import { MAX_LEASE_MS, type Lease } from "../../core/leases.ts";
import { HttpError } from "../errors.ts";
import { ErrorEnvelopeSchema } from "../schemas.ts";
import { flag, leaseIdOf, noBody, objectBody, type RouteContext } from "./context.ts";
import { doc } from "./doc.ts";
import { clip } from "../../core/clip.ts";

const E = ErrorEnvelopeSchema;
const MAX_TTL_S = MAX_LEASE_MS / 1000;

export const LeaseRequestSchema = t.Object({
  ttl_s: t.Number({
    exclusiveMinimum: 0,
    maximum: MAX_TTL_S,
    description: `Seconds the lease lasts unless renewed (at most ${MAX_TTL_S})`,
    examples: [60],
  }),
  holder: t.Optional(
    t.String({
      minLength: 1,
      maxLength: 200,
      description: "Who holds it, shown to everyone (default 'anonymous')",
      examples: ["alice@dashboard"],
    }),
  ),
});
export const LeaseRenewRequestSchema = t.Object({
  ttl_s: t.Optional(
    t.Number({
      exclusiveMinimum: 0,
      maximum: MAX_TTL_S,
      description: "New lifetime from now, seconds (default: the last one)",
    }),
  ),
});
export const LeaseResponseSchema = t.Object({
  lease_id: t.String({ description: "Send it as X-Lease-Id with every command on the device" }),
  device_id: t.String(),
  holder: t.String(),
  expires_at: t.String({ description: "ISO-8601 UTC" }),
  ttl_s: t.Number(),
});
export const LeaseReleaseResponseSchema = t.Object({
  status: t.Union([t.Literal("released"), t.Literal("force_released"), t.Literal("not_leased")]),
  device_id: t.String(),
  holder: t.Union([t.String(), t.Null()]),
});

export function leaseRoutes(ctx: RouteContext & { forceAllowed: boolean }) {
  const { daemon } = ctx;
  const answer = (l: Lease) => ({
    lease_id: l.leaseId,
    device_id: l.deviceId,
    holder: l.holder,
    expires_at: isoMillis(l.expiresAt),
    ttl_s: l.ttlMs / 1000,
  });
  const ttlOf = (b: Record<string, unknown>, optional = false): number | undefined => {
    if (b.ttl_s === undefined && optional) return undefined;
    if (typeof b.ttl_s !== "number" || !(b.ttl_s > 0) || b.ttl_s > MAX_TTL_S) {
      throw new HttpError(
        422,
        "ValidationError",
        `ttl_s must be a number of seconds, more than 0 and at most ${MAX_TTL_S}`,
        { location: "body", errors: [{ path: "/ttl_s", message: "Expected 0 < ttl_s ≤ 86400" }] },
      );
    }
    return b.ttl_s * 1000;
  };

  return new Elysia()
    .post(
      "/devices/:device_id/lease",
      ({ params, body }) => {
        const b = objectBody(body);
        const id = daemon.deviceState(params.device_id).deviceId;
        const ttlMs = ttlOf(b)!;
        if (b.holder !== undefined && typeof b.holder !== "string")
          throw new HttpError(422, "ValidationError", "holder must be a string", {
            location: "body",
            errors: [{ path: "/holder", message: "Expected string" }],
          });
        return answer(daemon.leases.acquire(id, ttlMs, (b.holder as string | undefined) ?? "anonymous"));
      },
      {
        detail: doc({
          summary: "Lease a device: until it expires or is released, commands on it need X-Lease-Id (reads never do)",
          tags: ["leases"],
          body: LeaseRequestSchema,
          responses: { 200: LeaseResponseSchema, 400: E, 404: E, 409: E, 422: E },
        }),
      },
    )

    .post(
      "/devices/:device_id/lease/renew",
      ({ params, body, request }) => {
        const b = body === undefined || body === null ? {} : objectBody(body);
        const id = daemon.deviceState(params.device_id).deviceId;
        return answer(daemon.leases.renew(id, leaseIdOf(request), ttlOf(b, true)));
      },
      {
        detail: doc({
          summary: "Renew a lease (X-Lease-Id): it lasts ttl_s from now, or as long as it was last given",
          tags: ["leases"],
          body: LeaseRenewRequestSchema,
          bodyOptional: true,
          responses: { 200: LeaseResponseSchema, 404: E, 409: E, 422: E },
        }),
      },
    )

    .delete(
      "/devices/:device_id/lease",
      async ({ params, query, request }) => {
        await noBody(request);
        const id = daemon.deviceState(params.device_id).deviceId;
        const force = flag(query.force);
        if (force === null)
          throw new HttpError(400, "InvalidRequest", "force must be true or false", {
            force: clip(String(query.force), 40),
          });
        if (force) {
          // Only an administrator may end another's lease: on a server with a token, whoever holds the token.
          if (!ctx.forceAllowed) {
            throw new HttpError(
              403,
              "ForceNotAllowed",
              "Forcing a lease open needs a server with a token (the administrator's); without one, wait for it to expire",
              { device_id: id },
            );
          }
          const ended = daemon.leases.forceRelease(id, "administrator (force=true)");
          return {
            status: ended ? ("force_released" as const) : ("not_leased" as const),
            device_id: id,
            holder: ended?.holder ?? null,
          };
        }
        const holder = daemon.deviceState(id).lease?.holder ?? null;
        try {
          daemon.leases.release(id, leaseIdOf(request));
        } catch (e) {
          if (e instanceof LeaseNotFoundError) return { status: "not_leased" as const, device_id: id, holder: null };
          throw e;
        }
        return { status: "released" as const, device_id: id, holder };
      },
      {
        parse: "none",
        query: t.Object({
          force: t.Optional(
            t.String({ description: "true: end whoever's lease it is (needs the server's token)", examples: ["true"] }),
          ),
        }),
        detail: doc({
          summary: "Release your lease (X-Lease-Id), or anyone's with ?force=true on a server with a token",
          tags: ["leases"],
          responses: { 200: LeaseReleaseResponseSchema, 400: E, 403: E, 404: E, 409: E },
        }),
      },
    );
}
