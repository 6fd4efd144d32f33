// The embedded pages: each is one self-contained file (no script, style or font fetched from anywhere),
// served gzipped when asked, always under a policy that keeps the page's requests on its own origin.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { buildPages, WEB_OUT_DIR } from "../../tools/webBuild.ts";
import { PAGE_CSP, pageResponse, type PageName } from "../../src/web/pages.ts";

const root = `${import.meta.dir}/../..`;
const PAGES: PageName[] = ["dashboard", "launcher"];

describe("embedded pages", () => {
  test("every page builds into one file that loads nothing from elsewhere", async () => {
    const built = await buildPages(root);
    expect(built.map((b) => b.page).sort()).toEqual(expect.arrayContaining(PAGES));
    for (const page of PAGES) {
      const html = readFileSync(`${root}/${WEB_OUT_DIR}/${page}.html`, "utf8");
      expect(html).toContain('<script type="module">');
      expect(html).not.toMatch(/<script[^>]+src=/i);
      expect(html).not.toMatch(/<link[^>]+href=/i);
      expect(html).not.toMatch(/(?:src|href)=["']?(?:https?:)?\/\//i);
    }
  });

  test("a page is served gzipped to a browser that takes gzip, plain otherwise, always with the policy", async () => {
    for (const page of PAGES) {
      const zipped = await pageResponse(
        page,
        new Request("http://127.0.0.1/", { headers: { "Accept-Encoding": "gzip, deflate, br" } }),
      );
      expect(zipped.headers.get("content-encoding")).toBe("gzip");
      expect(zipped.headers.get("content-security-policy")).toBe(PAGE_CSP);
      const plain = await pageResponse(page, new Request("http://127.0.0.1/"));
      expect(plain.headers.get("content-encoding")).toBeNull();
      const text = await plain.text();
      expect(new TextDecoder().decode(gunzipSync(new Uint8Array(await zipped.arrayBuffer())))).toBe(text);
      expect(text.startsWith("<!doctype html>")).toBe(true);
    }
    expect(PAGE_CSP).toContain("connect-src 'self'");
    expect(PAGE_CSP).toContain("default-src 'none'");
  });
});

test("a browser that refuses gzip (q=0) gets the plain page", async () => {
  const r = await pageResponse(
    "dashboard",
    new Request("http://127.0.0.1/", { headers: { "Accept-Encoding": "gzip;q=0, identity" } }),
  );
  expect(r.headers.get("content-encoding")).toBeNull();
  const star = await pageResponse(
    "dashboard",
    new Request("http://127.0.0.1/", { headers: { "Accept-Encoding": "br, *;q=0.5" } }),
  );
  expect(star.headers.get("content-encoding")).toBe("gzip");
});
