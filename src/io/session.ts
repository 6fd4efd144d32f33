// The session types an instrument runs its requests on, shared by MessageInstrument, the event-loop
// transports (src/io/net) and the native acquisition loop, which borrows a session through a lease.

/** The addon's NativeSession (native/io/binding/session_binding.cc). */
export interface NativeSession {
  readonly resource: string;
  readonly interfaceType: string;
  open(timeoutMs: number): Promise<void>;
  write(data: string | Uint8Array, timeoutMs: number): Promise<number>;
  read(term: string, maxBytes: number, timeoutMs: number, enc: number): Promise<string | Uint8Array>;
  readBytes(n: number, timeoutMs: number, enc: number): Promise<string | Uint8Array>;
  query(
    data: string | Uint8Array,
    term: string,
    maxBytes: number,
    timeoutMs: number,
    enc: number,
  ): Promise<string | Uint8Array>;
  /** `into`: where the block's data may be read (the answer is then a view of it); a transport that
   * cannot read there ignores it and the caller copies. */
  queryBlock(
    data: string | Uint8Array | null,
    term: string,
    maxBytes: number,
    timeoutMs: number,
    into?: Uint8Array,
  ): Promise<Uint8Array>;
  clear(timeoutMs: number): Promise<void>;
  /** Without waiting: the status byte when the device requests service, -1 when not (GPIB; refused elsewhere). */
  pollServiceRequest?(timeoutMs: number): Promise<number>;
  lock(timeoutMs: number): Promise<void>;
  unlock(timeoutMs: number): Promise<void>;
  /** `abort`: wake a request blocked in I/O so it fails now, instead of closing after it. */
  close(abort?: boolean): Promise<void>;
}

/** A session of the event-loop transports, which can give its connection up to a native one. */
export interface HandOverSession extends NativeSession {
  readonly busy: boolean;
  /** Closes the connection after the requests already made; the next request reconnects. */
  disconnect(): Promise<void>;
  /** Runs `wait` in its turn: later requests start after it settles. */
  after(wait: () => Promise<unknown>): Promise<void>;
  /** The instrument's service requests to `onSrq`, from this request on. */
  enableServiceRequests(onSrq: ServiceRequestHandler, timeoutMs: number): Promise<void>;
  /** A HiSLIP shared lock named `key`. */
  lockShared(timeoutMs: number, key: string): Promise<void>;
  /** HiSLIP AsyncRemoteLocalControl with `code` (0–6, as VISA's viGpibControlREN). */
  remoteLocal(code: number, timeoutMs: number): Promise<void>;
}

/** What a native acquisition borrows: the session it runs on, and how to give it back. */
export interface NativeLease {
  session: NativeSession;
  release(): void;
}

/** What a native acquisition needs of the instrument it runs on (MessageInstrument is one). */
export interface LeasingInstrument {
  readonly resource: string;
  readonly writeTermination: string;
  readonly readTermination: string;
  readonly timeoutMs: number;
  readonly maxReadBytes: number;
  /** A session for the acquisition's own thread; `release()` once. */
  leaseNativeSession(): NativeLease;
}

/** Gets the instrument's status byte (bit 6, RQS, set), or null where it could not be read. */
export type ServiceRequestHandler = (statusByte: number | null) => void;
