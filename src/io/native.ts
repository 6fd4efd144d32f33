// Loads the C++ addon on first use, so `import … from "labdaemon"` works before the addon is built
// (only instrument I/O and the sample ring need it). The literal path lets `bun build --compile` embed it.
type NativeModule = Record<string, any>;

let loaded: NativeModule | null = null;
const onLoad: ((m: NativeModule) => void)[] = [];
let windowsLoader: (() => NativeModule) | null = null;

/**
 * How the Windows executable loads its addon (src/cli/windowsEntry.ts): bun cannot load an embedded
 * .node there, so the entry writes it to a file and dlopens that.
 */
export function setWindowsAddonLoader(fn: () => NativeModule): void {
  windowsLoader = fn;
}

function load(): NativeModule {
  if (loaded) return loaded;
  try {
    // Bun folds process.platform for a Windows target, so that build never embeds the Linux addon.
    if (process.platform === "win32") {
      if (!windowsLoader) throw new Error("this Windows build has no addon (start it through src/cli/windowsEntry.ts)");
      loaded = windowsLoader();
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    else loaded = require("../../build/Release/labdaemon_native.node") as NativeModule;
  } catch (e) {
    throw new Error(
      `labdaemon's native addon could not be loaded (run \`npm run build:native\`): ${(e as Error).message}`,
    );
  }
  for (const fn of onLoad.splice(0)) fn(loaded);
  return loaded;
}

/** Runs `fn` with the addon once it is loaded (at once if it already is). */
export function onNativeLoad(fn: (m: NativeModule) => void): void {
  if (loaded) fn(loaded);
  else onLoad.push(fn);
}

export const native: NativeModule = new Proxy({} as NativeModule, {
  get: (_t, prop) => load()[prop as string],
  has: (_t, prop) => prop in load(),
});
