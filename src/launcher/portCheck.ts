// Before a profile starts: is its port free? Refused with 409 naming the holder (another profile, or the
// process /proc shows), so the page says who holds it instead of showing a server that dies at once.
import { isAddressInUse } from "../cli/portInUse.ts";
import { HttpError } from "../server/errors.ts";
import { portHolder } from "./procInfo.ts";
import type { ProfileInfo } from "./profiles.ts";
import type { ManagedServer } from "./server.ts";

export async function checkPortFree(p: ProfileInfo, servers: Iterable<ManagedServer>): Promise<void> {
  if (p.port === 0) return;
  const other = [...servers].find((s) => s.active && s.port === p.port);
  if (other) {
    throw new HttpError(
      409,
      "PortInUse",
      `port ${p.port} is already used by profile '${other.profile}' (PID ${other.pid})`,
      { port: p.port, profile: p.name, holder: { pid: other.pid, profile: other.profile } },
    );
  }
  try {
    const probe = Bun.listen({ hostname: p.host, port: p.port, socket: { data() {} } });
    probe.stop(true);
  } catch (e) {
    if (!isAddressInUse(e))
      throw new HttpError(409, "PortUnavailable", `cannot listen on ${p.host}:${p.port}: ${(e as Error).message}`, {
        port: p.port,
        host: p.host,
        profile: p.name,
      });
    const holder = portHolder(p.port);
    const who = holder ? ` by PID ${holder.pid} (${holder.command})` : " (by a process this user cannot see)";
    throw new HttpError(409, "PortInUse", `port ${p.port} on ${p.host} is already in use${who}`, {
      port: p.port,
      host: p.host,
      profile: p.name,
      holder,
    });
  }
}
