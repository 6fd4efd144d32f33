// The client half of the package for runtimes without TypeScript (Node, Deno, browsers): src/client bundled
// by Bun.build into one ES module, dist/client/index.js, and its types emitted by tsc into dist/types/.
// Run by `npm pack` (prepack), which also builds the pages the library embeds; the package's "labdaemon/client" export points Node at these files, Bun at src/.
import { $ } from "bun";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildPages, WEB_OUT_DIR } from "./webBuild.ts";

export const CLIENT_OUT = "dist/client/index.js";
export const TYPES_OUT = "dist/types";

export async function buildClient(root: string): Promise<void> {
  rmSync(join(root, "dist/client"), { recursive: true, force: true });
  rmSync(join(root, TYPES_OUT), { recursive: true, force: true });
  const out = await Bun.build({
    entrypoints: [join(root, "src/client/index.ts")],
    target: "node",
    format: "esm",
    outdir: join(root, "dist/client"),
    naming: "index.js",
  });
  if (!out.success) throw new Error(`client bundle failed:\n${out.logs.map(String).join("\n")}`);
  const tsc = await $`${join(root, "node_modules/.bin/tsc")} -p ${join(root, "tsconfig.client.json")}`
    .cwd(root)
    .quiet()
    .nothrow();
  if (tsc.exitCode !== 0)
    throw new Error(`client types failed (tsc exit ${tsc.exitCode}):\n${tsc.stdout}${tsc.stderr}`);
  // Declarations keep the sources' "./x.ts" specifiers; a Node consumer resolves "./x.js" to x.d.ts.
  for (const file of walk(join(root, TYPES_OUT))) {
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.replace(/(from\s+["'](?:\.\.?\/)[^"']*?)\.ts(["'])/g, "$1.js$2"));
  }
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".d.ts") ? [join(dir, e.name)] : [],
  );
}

if (import.meta.main) {
  const root = join(import.meta.dir, "..");
  await buildClient(root);
  // The library imports the embedded pages (src/web/pages.ts): a packed tree needs them built too.
  await buildPages(root);
  console.log(`${CLIENT_OUT}, ${TYPES_OUT}/ and ${WEB_OUT_DIR}/ written`);
}
