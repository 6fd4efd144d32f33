// A route's OpenAPI documentation as the routes write it; docs.ts reads it back out of Elysia's `detail`.

export interface RouteDoc {
  summary: string;
  description?: string;
  tags: string[];
  /** Status → typebox schema of the body; docs.ts turns these into OpenAPI responses. */
  responses: Record<number, unknown>;
  /**
   * The request body's schema, for the docs only: handlers check bodies themselves (objectBody and the
   * field checks), because Elysia's validation would coerce a non-object body into `{}` first.
   */
  body?: unknown;
  /** The body may be left out altogether (its fields all have defaults). */
  bodyOptional?: boolean;
}

/** A route's documentation, kept in Elysia's `detail` (typed there as OpenAPI objects, hence the cast). */
export const doc = (d: RouteDoc) => d as never;
