// Entry of dist/labdaemon.exe (tools/windowsBuild.ts): embeds the Windows addon as a file, and when the
// addon is first needed writes it to %TEMP% and loads it with process.dlopen. Inside a compiled Windows
// executable require() of an embedded .node fails (LoadLibrary cannot see bun's virtual B:/~BUN/ path).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// Built by tools/windowsBuild.ts before the executable is compiled.
import addonFile from "../../build/windows/Release/labdaemon_native.node" with { type: "file" };
import { setWindowsAddonLoader } from "../io/native.ts";
import { runMain } from "./main.ts";

setWindowsAddonLoader(() => {
  const bytes = readFileSync(addonFile);
  // Named by content: a running server keeps its copy locked (Windows cannot replace a loaded DLL), and
  // another version's executable writes a file of its own beside it.
  const dir = join(process.env.TEMP || tmpdir(), "labdaemon");
  const path = join(dir, `labdaemon_native-${Bun.hash(bytes).toString(16)}.node`);
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    try {
      renameSync(tmp, path);
    } catch (e) {
      // Another labdaemon.exe wrote the same file first: theirs is as good as ours.
      if (!existsSync(path)) throw e;
    }
  }
  const mod = { exports: {} as Record<string, unknown> };
  process.dlopen(mod, path);
  return mod.exports;
});

runMain();
