// Browser pages: each web/<page>/ (index.html + main.ts, optional style.css) is bundled by Bun.build into
// one self-contained file, build/web/<page>.html, with its script and style inlined. One file per page means
// one request, nothing to route, and nothing a page could fetch from anywhere but the server that sent it;
// src/web/pages.ts embeds these files in the executable.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const WEB_OUT_DIR = "build/web";
/** Where index.html wants the page's code and style. */
const SCRIPT_SLOT = "<!-- script -->";
const STYLE_SLOT = "<!-- style -->";

export interface PageBuild {
  page: string;
  bytes: number;
  ms: number;
}

/** Builds every page under ROOT/web; throws with Bun.build's messages when one does not build. */
export async function buildPages(root: string): Promise<PageBuild[]> {
  const webDir = join(root, "web");
  const outDir = join(root, WEB_OUT_DIR);
  if (!existsSync(webDir)) return [];
  mkdirSync(outDir, { recursive: true });
  const pages = readdirSync(webDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(webDir, d.name, "index.html")))
    .map((d) => d.name);
  const built: PageBuild[] = [];
  for (const page of pages) built.push(await buildPage(join(webDir, page), outDir, page));
  return built;
}

async function buildPage(dir: string, outDir: string, page: string): Promise<PageBuild> {
  const started = performance.now();
  const result = await Bun.build({
    entrypoints: [join(dir, "main.ts")],
    target: "browser",
    minify: true,
    format: "esm",
  });
  if (!result.success) throw new Error(`web/${page}: ${result.logs.map((l) => String(l)).join("\n")}`);
  const scripts = await Promise.all(result.outputs.filter((o) => o.kind === "entry-point").map((o) => o.text()));
  const css = [
    ...(await Promise.all(result.outputs.filter((o) => o.path.endsWith(".css")).map((o) => o.text()))),
    ...(existsSync(join(dir, "style.css")) ? [readFileSync(join(dir, "style.css"), "utf8")] : []),
  ].join("\n");
  const html = readFileSync(join(dir, "index.html"), "utf8");
  if (!html.includes(SCRIPT_SLOT))
    throw new Error(`web/${page}/index.html has no ${SCRIPT_SLOT} where its script goes`);
  // A "</script" inside the bundle (a string literal) would end the inline script early.
  const script = scripts.join("\n").replace(/<\/(script)/gi, "<\\/$1");
  const out = html
    .replace(STYLE_SLOT, () => `<style>${css.replace(/<\/(style)/gi, "<\\/$1")}</style>`)
    .replace(SCRIPT_SLOT, () => `<script type="module">${script}</script>`);
  // Written beside and renamed, so a server reading it never sees half a page.
  const target = join(outDir, `${page}.html`);
  // An unchanged page keeps its file (and mtime): the executable, which embeds it, need not be rebuilt.
  if (!existsSync(target) || readFileSync(target, "utf8") !== out) {
    writeFileSync(`${target}.${process.pid}.tmp`, out);
    renameSync(`${target}.${process.pid}.tmp`, target);
  }
  return { page, bytes: out.length, ms: performance.now() - started };
}
