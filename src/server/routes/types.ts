// GET /types: what can be added and started here, with each class's declared constructor params, so a
// client (or a person in Swagger) can build a valid POST /devices or POST /tasks without reading code.
import { Elysia } from "elysia";
import { paramsSchemaOf } from "../../core/params.ts";
import { TypesSchema } from "../schemas.ts";
import type { RouteContext } from "./context.ts";
import { doc } from "./doc.ts";

/** The class's params schema as plain JSON (typebox's symbol keys dropped), or null when it declares none. */
function paramsJson(cls: Function | undefined): unknown {
  const compiled = cls ? paramsSchemaOf(cls) : null;
  return compiled ? JSON.parse(JSON.stringify(compiled.schema)) : null;
}

export function typeRoutes(ctx: RouteContext) {
  const { daemon } = ctx;
  return new Elysia().get(
    "/types",
    () => ({
      devices: daemon.deviceTypeNames().map((type) => ({ type, params: paramsJson(daemon.getDeviceClass(type)) })),
      tasks: daemon.taskTypeNames().map((type) => ({ type, params: paramsJson(daemon.getTaskClass(type)) })),
    }),
    {
      detail: doc({
        summary:
          "Registered device and task types, with the JSON schema of their constructor params (null: not declared)",
        tags: ["meta"],
        responses: { 200: TypesSchema },
      }),
    },
  );
}
