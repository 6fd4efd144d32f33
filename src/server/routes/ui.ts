// The dashboard at /ui, and the way a browser reaches it from /: both answered before the token check,
// since the page holds no data (it asks for the token itself) and a redirect tells nothing either.
import favicon from "swagger-ui-dist/favicon-32x32.png" with { type: "file" };
import { pageResponse } from "../../web/pages.ts";

export const UI_PATH = "/ui";

/** A browser's navigation asks for HTML first; API clients ask for JSON or nothing in particular. */
function wantsHtml(request: Request): boolean {
  const accept = request.headers.get("accept") ?? "";
  return /\btext\/html\b/i.test(accept);
}

/**
 * The response for GET/HEAD /ui (the page) and for a browser's GET / (303 to /ui, keeping the query so
 * `/?token=…` still hands the page its token); null for anything else, which goes on to the API.
 */
export function uiResponse(request: Request, path: string): Promise<Response> | Response | null {
  if (request.method !== "GET" && request.method !== "HEAD") return null;
  if (path === UI_PATH || path === `${UI_PATH}/`) return pageResponse("dashboard", request);
  // Every browser asks for it when a page opens: an icon, not a 404 line in the log each time.
  if (path === "/favicon.ico")
    return new Response(Bun.file(favicon), {
      headers: { "Content-Type": "image/png", "Cache-Control": "max-age=86400" },
    });
  if (path === "/" && wantsHtml(request)) {
    const q = request.url.indexOf("?");
    return new Response(null, {
      status: 303,
      headers: { Location: UI_PATH + (q < 0 ? "" : request.url.slice(q)), Vary: "Accept" },
    });
  }
  return null;
}
