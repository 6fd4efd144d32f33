// Import check for `npm run lint`: walks the relative imports of the shipped code and lists every cycle
// and every import that breaks a room rule (ROOM_RULES). Type-only imports count too: a cycle of types
// still means two files that cannot be read apart.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

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

/** Which room may not import which: a file under `from` (and not under `except`) never imports one under `to`. */
export const ROOM_RULES: readonly { from: string; except?: string; to: string; why: string }[] = [
  { from: "src/", to: "tools/", why: "the library and the executable never need the build tools" },
  { from: "drivers/", to: "src/cli/", why: "drivers are a library the command line uses, not the reverse" },
  { from: "src/", except: "src/cli/", to: "drivers/", why: "only the command line's simulated lab builds on drivers" },
];

/** Every import of `graph` (paths relative to the repository, with "/") that breaks a room rule, as a message. */
export function roomViolations(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  for (const [file, imports] of graph) {
    for (const rule of ROOM_RULES) {
      if (!file.startsWith(rule.from) || (rule.except !== undefined && file.startsWith(rule.except))) continue;
      for (const target of imports) {
        if (target.startsWith(rule.to))
          found.push(`${file} imports ${target}: ${rule.from} never imports ${rule.to} (${rule.why})`);
      }
    }
  }
  return found;
}

/** The relative imports of the shipped code, by file; paths relative to the repository, with "/". */
export function importGraph(): Map<string, string[]> {
  const rel = (f: string) => relative(root, f).split(sep).join("/");
  const graph = new Map<string, string[]>();
  for (const r of ROOTS) for (const f of sources(join(root, r))) graph.set(rel(f), importsOf(f).map(rel));
  return graph;
}

if (import.meta.main) {
  const graph = importGraph();
  const cycles = findCycles(graph);
  for (const c of cycles) console.error(`import cycle: ${c.join(" <-> ")}`);
  const broken = roomViolations(graph);
  for (const b of broken) console.error(`room rule: ${b}`);
  console.log(
    `${graph.size} files, ${cycles.length} import cycle${cycles.length === 1 ? "" : "s"}, ${broken.length} room rule${broken.length === 1 ? "" : "s"} broken`,
  );
  process.exit(cycles.length === 0 && broken.length === 0 ? 0 : 1);
}
