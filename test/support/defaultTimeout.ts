// Preloaded by bunfig.toml: gives every test file a 30 s default per-test timeout, a hang guard that a
// loaded machine does not trip. bun reads no `timeout` from bunfig.toml (only `bun test --timeout`), and
// setDefaultTimeout() applies to the file that calls it, so it is put at the head of each test file as
// it loads, on the file's first line so line numbers in failures stay right.
import { plugin } from "bun";

export const DEFAULT_TEST_TIMEOUT_MS = 30_000;

plugin({
  name: "labdaemon default test timeout",
  setup(build) {
    build.onLoad({ filter: /\.test\.ts$/ }, async ({ path }) => ({
      contents:
        `import { setDefaultTimeout as __ldSetDefaultTimeout } from "bun:test"; __ldSetDefaultTimeout(${DEFAULT_TEST_TIMEOUT_MS}); ` +
        (await Bun.file(path).text()),
      loader: "ts",
    }));
  },
});
