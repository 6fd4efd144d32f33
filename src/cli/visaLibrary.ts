// A VISA library the user names (--visa-library, $LABDAEMON_VISA_LIBRARY) must load. The addon's resource
// listing passes over a library that does not, which read as "no VISA instruments" with exit status 0.
import { native } from "../io/native.ts";

export interface NamedVisaLibrary {
  library: string;
  /** Where the name came from, for the message. */
  source: "--visa-library" | "LABDAEMON_VISA_LIBRARY";
}

/** The named library cannot be loaded, or is not a VISA library: exit status 1. */
export class VisaLibraryError extends Error {
  override name = "VisaLibraryError";
  readonly context: NamedVisaLibrary;
  constructor(message: string, context: NamedVisaLibrary) {
    super(message);
    this.context = context;
  }
}

/** The library named by the flag, else by the environment; undefined when neither names one. */
export function namedVisaLibrary(flag: string | undefined): NamedVisaLibrary | undefined {
  if (flag) return { library: flag, source: "--visa-library" };
  const env = process.env.LABDAEMON_VISA_LIBRARY;
  return env ? { library: env, source: "LABDAEMON_VISA_LIBRARY" } : undefined;
}

/** Any resource string: a session routed through a VISA library loads the library and opens nothing. */
const PROBE_RESOURCE = "TCPIP0::127.0.0.1::5025::SOCKET";

/** Rejects with a VisaLibraryError naming the library and why it does not load. */
export async function requireVisaLibrary(command: string, named: NamedVisaLibrary): Promise<void> {
  let session: { close(): Promise<void> };
  try {
    session = new native.NativeSession(PROBE_RESOURCE, { visaLibrary: named.library });
  } catch (e) {
    const err = e as Error & { detail?: string };
    // Not the probe's resource, which is no part of the problem, nor the addon's advice on installing a
    // vendor VISA, which is for when no library was named.
    const why = (err.detail ?? err.message)
      .replace(`${PROBE_RESOURCE}: `, "")
      .replace(/^no VISA library could be loaded \([^)]*\); /, "");
    throw new VisaLibraryError(
      `${command}: cannot load the VISA library '${named.library}' (given by ${named.source}): ${why}`,
      named,
    );
  }
  await session.close();
}
