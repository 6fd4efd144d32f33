// Finds a python3 that can import pyvisa and pyvisa_py (Debian's python3-pyvisa-py lives under
// /usr/bin/python3, which may not be the first python3 on PATH).
import { spawnSync } from "bun";

let cached: string | null | undefined;

export function pythonWithPyvisa(): string | null {
  if (cached !== undefined) return cached;
  cached = null;
  for (const py of ["/usr/bin/python3", "python3"]) {
    try {
      const r = spawnSync([py, "-c", "import pyvisa, pyvisa_py"], { stdout: "ignore", stderr: "ignore" });
      if (r.exitCode === 0) {
        cached = py;
        break;
      }
    } catch {
      // not installed at this path
    }
  }
  return cached;
}

/** Whether `python` can import `module` (pyvisa-py reaches serial ports only through pyserial). */
export function pythonHas(python: string, module: string): boolean {
  return spawnSync([python, "-c", `import ${module}`], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

/** The pyvisa-py client used by the cross-check test and the bench. */
export const pyvisaClient = `${import.meta.dir}/pyvisa_client.py`;
