// Simulated instruments over VXI-11. The portmapper holds one port per RPC program, so one core
// channel per process serves every simulated device, told apart by the LAN device name of create_link.
import type { Socket } from "bun";
import {
  RpcServer,
  XdrWriter,
  isListening,
  portmapCall,
  portmapLookup,
  type RpcConnection,
  type XdrReader,
} from "./oncRpc.ts";
import type { SimulatedInstrument, SimReply } from "./instrument.ts";
import { splitMessages } from "./messages.ts";

const CORE = 0x0607af,
  ABORT = 0x0607b0,
  VERS = 1;
const FLAG_END = 8,
  FLAG_TERMCHR = 128;
const REASON_REQCNT = 1,
  REASON_CHR = 2,
  REASON_END = 4;
const ERR = {
  none: 0,
  notAccessible: 3,
  invalidLink: 4,
  notSupported: 8,
  locked: 11,
  noLock: 12,
  ioTimeout: 15,
} as const;
const MAX_RECV = 1 << 20;
/** A message written over several device_write calls before its terminator or END: beyond this (the client's
 * own bound on a reply record) the connection is closed rather than the message kept growing. */
export const MAX_MESSAGE_BYTES = 64 << 20;
const DEVICE_INTR_SRQ = 30;

/** The interrupt channel a client asked for with create_intr_chan: the device calls device_intr_srq on it. */
interface IntrChannel {
  socket: Promise<Socket<undefined> | null>;
  prog: number;
  vers: number;
  xid: number;
}

interface Link {
  lid: number;
  name: string;
  conn: RpcConnection;
  inst: SimulatedInstrument;
  inbound: string;
  out: SimReply[];
  offset: number;
  /** device_enable_srq's handle while service requests are enabled on this link. */
  srq: { handle: Uint8Array; off: () => void } | null;
}

class Vxi11Host {
  readonly devices = new Map<string, SimulatedInstrument>();
  readonly links = new Map<number, Link>();
  readonly locks = new Map<string, number>();
  readonly intr = new Map<RpcConnection, IntrChannel>();
  core!: RpcServer;
  abort!: RpcServer;
  #nextLid = 1;

  async start(): Promise<void> {
    // rpcbind holds one port for the program, machine-wide: taking it over would cut off another
    // simulator's clients, and its exit would then unregister this one.
    const registered = await portmapLookup(CORE, VERS);
    if (registered !== 0 && (await isListening(registered)))
      throw new Error(
        `rpcbind already has a VXI-11 server on port ${registered} (another 'labdaemon sim'?); it keeps one per machine: stop that one first`,
      );
    this.abort = new RpcServer((prog, _v, proc) =>
      prog === ABORT && proc === 1 ? new XdrWriter().u32(ERR.none) : null,
    );
    this.core = new RpcServer((prog, vers, proc, args, conn) => this.#call(prog, vers, proc, args, conn));
    this.core.onClose = (conn) => {
      for (const [lid, l] of this.links) if (l.conn === conn) this.#destroy(lid);
      this.#closeIntr(conn);
    };
    // A stale registration from a killed run would point clients at a dead port.
    if (registered !== 0) await portmapCall(2, CORE, VERS, 0).catch(() => false);
    // Refused when another simulator registered in the meantime: rpcbind does not replace a registration.
    if (!(await portmapCall(1, CORE, VERS, this.core.port))) {
      await this.stop();
      throw new Error("rpcbind refused to register the VXI-11 core program (another 'labdaemon sim' starting?)");
    }
  }

  async stop(): Promise<void> {
    this.core?.close();
    this.abort?.close();
    // Only this server's registration: by now the program may be another simulator's.
    if (this.core && (await portmapLookup(CORE, VERS).catch(() => 0)) === this.core.port)
      await portmapCall(2, CORE, VERS, 0).catch(() => false);
  }

  #destroy(lid: number): void {
    const l = this.links.get(lid);
    if (!l) return;
    this.links.delete(lid);
    l.srq?.off();
    if (this.locks.get(l.name) === lid) this.locks.delete(l.name);
  }

  #closeIntr(conn: RpcConnection): void {
    const ch = this.intr.get(conn);
    this.intr.delete(conn);
    void ch?.socket.then((s) => s?.end());
  }

  // device_intr_srq(handle) on the client's interrupt channel; the client's reply is not waited for.
  #sendSrq(link: Link): void {
    const ch = this.intr.get(link.conn);
    if (!ch || !link.srq) return;
    const handle = link.srq.handle;
    void ch.socket.then((s) => {
      if (!s) return;
      const body = new XdrWriter()
        .u32(++ch.xid)
        .u32(0)
        .u32(2)
        .u32(ch.prog)
        .u32(ch.vers)
        .u32(DEVICE_INTR_SRQ)
        .u32(0)
        .u32(0)
        .u32(0)
        .u32(0)
        .opaque(handle);
      const record = Buffer.concat(body.parts());
      const mark = Buffer.alloc(4);
      mark.writeUInt32BE((0x80000000 | record.byteLength) >>> 0);
      s.write(Buffer.concat([mark, record]));
    });
  }

  async #call(
    prog: number,
    vers: number,
    proc: number,
    a: XdrReader,
    conn: RpcConnection,
  ): Promise<XdrWriter | null | undefined> {
    if (prog !== CORE || vers !== VERS) return null;
    if (proc === 0) return new XdrWriter();
    if (proc === 10) {
      a.i32();
      a.u32();
      a.u32(); // clientId, lockDevice, lock_timeout
      const name = a.string();
      const inst = this.devices.get(name);
      if (!inst) return new XdrWriter().u32(ERR.notAccessible).i32(0).u32(this.abort.port).u32(MAX_RECV);
      const lid = this.#nextLid++;
      this.links.set(lid, { lid, name, conn, inst, inbound: "", out: [], offset: 0, srq: null });
      return new XdrWriter().u32(ERR.none).i32(lid).u32(this.abort.port).u32(MAX_RECV);
    }
    // The interrupt channel belongs to the client's connection, not to a link.
    if (proc === 25) {
      // create_intr_chan: hostAddr, hostPort, progNum, progVers, progFamily
      const addr = a.u32();
      const port = a.u32();
      const prog = a.u32();
      const vers = a.u32();
      if (a.u32() !== 0) return new XdrWriter().u32(ERR.notSupported); // only TCP
      if (this.intr.has(conn)) return new XdrWriter().u32(29); // channel already established
      const ip = [addr >>> 24, (addr >>> 16) & 255, (addr >>> 8) & 255, addr & 255].join(".");
      const socket = Bun.connect({ hostname: ip, port, socket: { data() {} } }).catch(() => null);
      this.intr.set(conn, { socket, prog, vers, xid: 0 });
      return new XdrWriter().u32((await socket) ? ERR.none : 6); // 6: channel not established
    }
    if (proc === 26) {
      // destroy_intr_chan
      if (!this.intr.has(conn)) return new XdrWriter().u32(6);
      this.#closeIntr(conn);
      return new XdrWriter().u32(ERR.none);
    }
    const link = this.links.get(a.i32());
    const err = (code: number) => new XdrWriter().u32(code);
    if (!link)
      return proc === 11
        ? err(ERR.invalidLink).u32(0)
        : proc === 12
          ? err(ERR.invalidLink).u32(0).opaque(new Uint8Array(0))
          : err(ERR.invalidLink);
    const holder = this.locks.get(link.name);
    const lockedOut = holder !== undefined && holder !== link.lid;
    switch (proc) {
      case 11: {
        // device_write
        a.u32();
        a.u32();
        const flags = a.u32();
        const data = a.opaque();
        if (lockedOut) return err(ERR.locked).u32(0);
        if (!this.#take(link, Buffer.from(data).toString("latin1"), (flags & FLAG_END) !== 0)) return undefined;
        return err(ERR.none).u32(data.byteLength);
      }
      case 12: {
        // device_read
        const size = a.u32();
        const ioTimeout = a.u32();
        a.u32();
        const flags = a.u32();
        const termChar = a.u32();
        if (lockedOut) return err(ERR.locked).u32(0).opaque(new Uint8Array(0));
        return this.#read(link, size, ioTimeout, (flags & FLAG_TERMCHR) !== 0 ? termChar : -1);
      }
      case 13:
        return err(ERR.none).u32(link.inst.readStatusByte()); // device_readstb
      case 20: {
        // device_enable_srq
        const enable = a.u32() !== 0;
        const handle = new Uint8Array(a.opaque());
        link.srq?.off();
        link.srq = enable ? { handle, off: link.inst.onServiceRequest(() => this.#sendSrq(link)) } : null;
        return err(ERR.none);
      }
      case 14:
      case 16:
      case 17:
        return err(ERR.none);
      case 15: // device_clear
        link.inbound = "";
        link.out = [];
        link.offset = 0;
        return err(ERR.none);
      case 18: {
        // device_lock
        if (holder === undefined || holder === link.lid) {
          this.locks.set(link.name, link.lid);
          return err(ERR.none);
        }
        return err(ERR.locked);
      }
      case 19: // device_unlock
        if (holder !== link.lid) return err(ERR.noLock);
        this.locks.delete(link.name);
        return err(ERR.none);
      case 23: // destroy_link
        this.#destroy(link.lid);
        return err(ERR.none);
      default:
        return err(ERR.notSupported);
    }
  }

  /** Takes written bytes; false when the message they continue has grown beyond MAX_MESSAGE_BYTES. */
  #take(link: Link, text: string, end: boolean): boolean {
    const term = link.inst.queryTerm;
    // Only the new bytes, or a terminator split across the join, can end a message: a long one is not rescanned.
    const seam = link.inbound.slice(Math.max(0, link.inbound.length - term.length + 1)) + text;
    if (seam.includes(term)) {
      const { messages, rest } = splitMessages(link.inbound + text, term);
      link.inbound = rest;
      for (const message of messages) this.#answer(link, message);
    } else link.inbound += text;
    if (link.inbound.length > MAX_MESSAGE_BYTES) {
      link.inbound = "";
      return false;
    }
    // END closes a message even without its terminator.
    if (end && link.inbound !== "") {
      this.#answer(link, link.inbound);
      link.inbound = "";
    }
    return true;
  }

  #answer(link: Link, message: string): void {
    const reply = link.inst.handle(message);
    if (reply.kind !== "none") link.out.push(reply);
  }

  async #read(link: Link, size: number, ioTimeout: number, termChar: number): Promise<XdrWriter | undefined> {
    const head = link.out[0];
    if (!head || head.kind === "silent") {
      // Nothing will come: answer as an instrument does, with an I/O timeout once io_timeout has passed.
      if (head) link.out.shift();
      await new Promise((r) => setTimeout(r, Math.min(ioTimeout, 60_000)));
      return new XdrWriter().u32(ERR.ioTimeout).u32(0).opaque(new Uint8Array(0));
    }
    if (head.kind === "drop") {
      link.out.shift();
      return undefined;
    }
    if (head.kind !== "data") return undefined;
    const avail = head.bytes.subarray(link.offset);
    let n = Math.min(size, avail.byteLength);
    let reason = 0;
    if (termChar >= 0) {
      const idx = avail.subarray(0, n).indexOf(termChar);
      if (idx >= 0) {
        n = idx + 1;
        reason |= REASON_CHR;
      }
    }
    const chunk = avail.subarray(0, n);
    link.offset += n;
    if (link.offset >= head.bytes.byteLength) {
      link.out.shift();
      link.offset = 0;
      reason |= REASON_END;
    } else if (!(reason & REASON_CHR)) {
      reason |= REASON_REQCNT;
    }
    return new XdrWriter().u32(ERR.none).u32(reason).opaque(chunk);
  }
}

let host: Vxi11Host | null = null;
let starting: Promise<Vxi11Host> | null = null;

export interface Vxi11Sim {
  name: string;
  resource: string;
  close(): Promise<void>;
}

/** Serves `instrument` as TCPIP::127.0.0.1::<name>::INSTR; needs a running rpcbind. */
export async function serveVxi11(instrument: SimulatedInstrument, name = "inst0"): Promise<Vxi11Sim> {
  if (!host) {
    starting ??= (async () => {
      const h = new Vxi11Host();
      try {
        await h.start();
      } catch (e) {
        starting = null;
        throw e;
      }
      host = h;
      return h;
    })();
  }
  const h = host ?? (await starting!);
  if (h.devices.has(name)) throw new Error(`a VXI-11 simulator named '${name}' is already served`);
  h.devices.set(name, instrument);
  return {
    name,
    resource: `TCPIP0::127.0.0.1::${name}::INSTR`,
    async close() {
      h.devices.delete(name);
      for (const [lid, l] of h.links) {
        if (l.name !== name) continue;
        l.srq?.off();
        h.links.delete(lid);
      }
      if (h.devices.size === 0 && host === h) {
        host = null;
        starting = null;
        await h.stop();
      }
    },
  };
}
