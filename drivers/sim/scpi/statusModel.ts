// A simulated instrument's IEEE 488.2 status reporting: the Standard Event Status Register (*ESR?, enabled
// by *ESE), the status byte (*STB?, enabled by *SRE) and the service request it raises when an enabled
// summary bit comes up; *OPC sets the ESR's operation-complete bit once the pending operations are over.

const OPC = 0x01;
const ESB = 0x20;
const RQS = 0x40;

export class StatusModel {
  /** Standard Event Status Register (latched until *ESR? or *CLS). */
  #esr = 0;
  #ese = 0;
  #sre = 0;
  /** Set with a service request; cleared by a serial poll or *CLS. */
  #rqs = false;
  #opcTimer: ReturnType<typeof setTimeout> | null = null;
  readonly #listeners = new Set<() => void>();

  /** Called when the instrument requests service. */
  onServiceRequest(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The status byte's summary bits, without bit 6. */
  #summary(): number {
    return this.#esr & this.#ese ? ESB : 0;
  }

  /** *STB?: the status byte with MSS (bit 6: an enabled summary bit is set); reading it clears nothing. */
  statusByteQuery(): number {
    const s = this.#summary();
    return s | (s & this.#sre ? RQS : 0);
  }

  /** A serial poll (VXI-11 device_readstb, HiSLIP AsyncServiceRequest): bit 6 is RQS, which it clears. */
  serialPoll(): number {
    const stb = this.#summary() | (this.#rqs ? RQS : 0);
    this.#rqs = false;
    return stb;
  }

  /** *ESR?: the event register, cleared by reading it. */
  readEventStatus(): number {
    const esr = this.#esr;
    this.#esr = 0;
    return esr;
  }

  setEventEnable(mask: number): void {
    this.#update(() => (this.#ese = mask & 0xff));
  }

  get eventEnable(): number {
    return this.#ese;
  }

  /** Bit 6 of *SRE is ignored, as IEEE 488.2 says. */
  setServiceRequestEnable(mask: number): void {
    this.#update(() => (this.#sre = mask & 0xbf));
  }

  get serviceRequestEnable(): number {
    return this.#sre;
  }

  /** *CLS: the event register, RQS and a pending *OPC are cleared; the enable registers stay. */
  clear(): void {
    if (this.#opcTimer) clearTimeout(this.#opcTimer);
    this.#opcTimer = null;
    this.#esr = 0;
    this.#rqs = false;
  }

  /** *OPC: the operation-complete bit is set when the operations running now are over (at `busyUntil`). */
  armOpc(busyUntil: number): void {
    if (this.#opcTimer) clearTimeout(this.#opcTimer);
    this.#opcTimer = setTimeout(
      () => {
        this.#opcTimer = null;
        this.#update(() => (this.#esr |= OPC));
      },
      Math.max(0, busyUntil - performance.now()),
    );
  }

  /** Stops a pending *OPC (the instrument is going away). */
  dispose(): void {
    if (this.#opcTimer) clearTimeout(this.#opcTimer);
    this.#opcTimer = null;
  }

  // A service request is raised when an enabled summary bit comes up (a new reason for service), not
  // again while it stays set.
  #update(change: () => void): void {
    const before = this.#summary() & this.#sre;
    change();
    const after = this.#summary() & this.#sre;
    if (after & ~before) {
      this.#rqs = true;
      for (const l of [...this.#listeners]) l();
    }
  }
}
