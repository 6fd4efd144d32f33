// The browser pages embedded in the executable (built into build/web/ by tools/webBuild.ts): served as one
// self-contained HTML file each, gzipped when the browser takes it, with a Content-Security-Policy that lets
// a page talk to nothing but the server that sent it.
import dashboardFile from "../../build/web/dashboard.html" with { type: "file" };
import launcherFile from "../../build/web/launcher.html" with { type: "file" };

export type PageName = "dashboard" | "launcher";

// bun-types declares every .html import an HTMLBundle; `type: "file"` makes it the embedded file's path.
const PATHS = { dashboard: dashboardFile, launcher: launcherFile } as unknown as Record<PageName, string>;

/** Scripts and styles are inline (one file a page); every fetch, EventSource and image stays on this origin. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data: blob:; " +
  "connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const cache = new Map<PageName, { plain: Uint8Array<ArrayBuffer>; gzip: Uint8Array<ArrayBuffer> }>();

async function load(page: PageName): Promise<{ plain: Uint8Array<ArrayBuffer>; gzip: Uint8Array<ArrayBuffer> }> {
  let entry = cache.get(page);
  if (!entry) {
    const plain = new Uint8Array(await Bun.file(PATHS[page]).arrayBuffer());
    entry = { plain, gzip: Bun.gzipSync(plain, { level: 9 }) as Uint8Array<ArrayBuffer> };
    cache.set(page, entry);
  }
  return entry;
}

/** The page as an HTTP response for this request (gzip when its Accept-Encoding allows). */
export async function pageResponse(page: PageName, request: Request): Promise<Response> {
  const { plain, gzip } = await load(page);
  const gzipOk = acceptsGzip(request.headers.get("accept-encoding") ?? "");
  const headers: Record<string, string> = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": PAGE_CSP,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    Vary: "Accept-Encoding",
  };
  if (gzipOk) headers["Content-Encoding"] = "gzip";
  return new Response(gzipOk ? gzip : plain, { headers });
}

/** Accept-Encoding names gzip (or *) without refusing it by q=0. */
function acceptsGzip(header: string): boolean {
  for (const part of header.toLowerCase().split(",")) {
    const [coding, ...params] = part.trim().split(";");
    if (coding !== "gzip" && coding !== "*") continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}
