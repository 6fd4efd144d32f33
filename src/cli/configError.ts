// A configuration problem as an error, and the path of a value inside a configuration as its message
// names it (`devices.laser1.type`).

export type ConfigPath = ReadonlyArray<string | number>;

/** A configuration problem; its message starts with the file (and line when known). */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** What went wrong at a path: `message` reads after the path ("must be a string"). */
export interface PathProblem {
  path: ConfigPath;
  message: string;
}

/** Builds the error for a problem at a path (the file and line in front, where known). */
export type Fail = (path: ConfigPath, message: string) => ConfigError;

export function fmtPath(path: ConfigPath): string {
  return path.map(String).join(".");
}

/** "devices.l1.type must name a device type"; a problem of the whole file is its message alone. */
export function describeProblem(p: PathProblem): string {
  return p.path.length === 0 ? p.message : `${fmtPath(p.path)} ${p.message}`;
}

/** Fails with "WHERE: path message", `where` giving "file[:line:column]" of a path. */
export function failAt(where: (path: ConfigPath) => string): Fail {
  return (path, message) => new ConfigError(`${where(path)}: ${describeProblem({ path, message })}`);
}
