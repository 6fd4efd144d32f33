// The benchmark addon (native/bench/), which the shipped addon leaves out: `bun build.ts --native --bench`
// (and `npm run bench`) builds it into build/Release/labdaemon_bench.node.

export interface Transfer {
  samples: number;
  seconds: number;
  inOrder: boolean;
}

export interface TransferParams {
  samples?: number;
  batch?: number;
  capacity?: number;
  pin?: boolean;
}

export interface BenchAddon {
  /** A two-thread transfer of float32 samples, off the JS thread. Throws for a bad kind or parameters. */
  benchRingTransfer(kind: "ring" | "mutex" | "mutexPerSample", params?: TransferParams): Promise<Transfer>;
}

function load(): BenchAddon {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("../build/Release/labdaemon_bench.node") as BenchAddon;
  } catch (e) {
    throw new Error(
      `the benchmark addon could not be loaded (build it with \`bun build.ts --native --bench\`): ${(e as Error).message}`,
    );
  }
}

export const benchAddon: BenchAddon = load();
