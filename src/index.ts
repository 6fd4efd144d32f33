// The library's public surface: `import { LabDaemon } from "labdaemon"`.
import pkg from "../package.json" with { type: "json" };

export * from "./core/index.ts";
export const version: string = pkg.version;
