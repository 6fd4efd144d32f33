// Loads the C++ addon. The literal path lets `bun build --compile` embed the .node file.
// Each room of native/ adds its exports; their TypeScript faces live beside this file.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const native: Record<string, any> = require("../../build/Release/labdaemon_native.node");
