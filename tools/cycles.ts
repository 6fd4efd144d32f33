// Import-cycle check for `npm run lint`: walks the relative imports of the shipped code and lists every cycle.
// Type-only imports count too: a cycle of types still means two rooms that cannot be read apart.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOTS = ["src", "drivers", "tools", "web"];
const root = resolve(import.meta.dir, "..");
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g;

function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.tsx?$/.test(name) && !name.endsWith(".d.ts") ? [p] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const target = resolve(dirname(file), m[1] ?? m[2]);
    for (const candidate of [target, `${target}.ts`, join(target, "index.ts")]) {
      if (/\.tsx?$/.test(candidate) && existsSync(candidate) && statSync(candidate).isFile()) {
        out.push(candidate);
        break;
      }
    }
  }
  return out;
}

/** Every strongly connected component with more than one file (or a file importing itself), by Tarjan. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

if (import.meta.main) {
  const graph = new Map<string, string[]>();
  for (const r of ROOTS) for (const f of sources(join(root, r))) graph.set(f, importsOf(f));
  const cycles = findCycles(graph);
  for (const c of cycles) console.error(`import cycle: ${c.map((f) => relative(root, f)).join(" <-> ")}`);
  console.log(`${graph.size} files, ${cycles.length} import cycle${cycles.length === 1 ? "" : "s"}`);
  process.exit(cycles.length === 0 ? 0 : 1);
}
