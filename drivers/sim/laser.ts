// SimLaser: a simulated tunable laser. Tuning takes a settling time during which the call is pending,
// as with a real external-cavity laser; the emitted light is what a SimPowerMeter on the same
// simulated fibre sees.
import { t, type Static } from "elysia";
import { DeviceConfigurationError, DeviceNotConnectedError, DeviceOperationError } from "../../src/core/errors.ts";
import { EMISSION, fibre, type LightSource } from "./fibre.ts";

const nonNegative = (description: string) => t.Optional(t.Number({ minimum: 0, description }));

/** What the constructor reads; the daemon refuses anything else before constructing. */
const SimLaserParamsSchema = t.Object(
  {
    wavelength: nonNegative("nm; default 1550"),
    power: nonNegative("mW; default 1"),
    settleMs: nonNegative("ms a wavelength or power change takes to settle; default 20"),
    minWavelength: nonNegative("lower end of the tuning range, nm; default 1480"),
    maxWavelength: nonNegative("upper end of the tuning range, nm; default 1640"),
    maxPower: nonNegative("highest settable power, mW; default 20"),
  },
  { additionalProperties: false },
);

export type SimLaserParams = Static<typeof SimLaserParamsSchema>;

export class SimLaser implements LightSource {
  static params = SimLaserParamsSchema;
  /** What a client may call over HTTP; everything else stays in-process. */
  static remote = [
    "setWavelength",
    "getWavelength",
    "setPower",
    "getPower",
    "enableOutput",
    "isOutputEnabled",
    "getStatus",
  ];
  // Parameters named in the metadata, so kwargs and /methods keep their names even in a minified build.
  static methods = {
    setWavelength: {
      params: { nm: t.Number({ minimum: 1480, maximum: 1640, description: "nm" }) },
      doc: "Tunes to a wavelength (nm) and waits until it has settled.",
    },
    getWavelength: { params: {}, doc: "The wavelength (nm)." },
    setPower: {
      params: { mw: t.Number({ minimum: 0, maximum: 20, description: "mW" }) },
      doc: "Sets the output power (mW) and waits until it has settled.",
    },
    getPower: { params: {}, doc: "The output power setting (mW)." },
    enableOutput: { params: { on: t.Boolean() }, doc: "Opens (true) or closes (false) the shutter." },
    isOutputEnabled: { params: {}, doc: "Whether light is emitted." },
    getStatus: { params: {}, doc: "Wavelength, power, output state and tuning range." },
  };

  readonly deviceId: string;
  readonly settleMs: number;
  readonly minWavelength: number;
  readonly maxWavelength: number;
  readonly maxPower: number;
  #wavelength: number;
  #power: number;
  #output = false;
  #connected = false;

  constructor(deviceId: string, params: SimLaserParams = {}) {
    this.deviceId = deviceId;
    this.minWavelength = num(deviceId, "minWavelength", params.minWavelength ?? 1480);
    this.maxWavelength = num(deviceId, "maxWavelength", params.maxWavelength ?? 1640);
    this.maxPower = num(deviceId, "maxPower", params.maxPower ?? 20);
    this.settleMs = num(deviceId, "settleMs", params.settleMs ?? 20);
    this.#wavelength = num(deviceId, "wavelength", params.wavelength ?? 1550);
    this.#power = num(deviceId, "power", params.power ?? 1);
    if (this.minWavelength >= this.maxWavelength) {
      throw new DeviceConfigurationError(`SimLaser '${deviceId}': minWavelength must be below maxWavelength`, {
        device_id: deviceId,
      });
    }
    this.#checkWavelength(this.#wavelength);
    this.#checkPower(this.#power);
    fibre.declareSource(deviceId, this);
  }

  connect(): void {
    this.#connected = true;
    fibre.attachSource(this.deviceId, this);
  }

  disconnect(): void {
    this.#output = false;
    this.#connected = false;
    fibre.detachSource(this.deviceId, this);
  }

  isConnected(): boolean {
    return this.#connected;
  }

  async setWavelength(nm: number): Promise<number> {
    this.#live();
    this.#checkWavelength(nm);
    await settle(this.settleMs);
    this.#wavelength = nm;
    return nm;
  }

  getWavelength(): number {
    return this.#wavelength;
  }

  async setPower(mw: number): Promise<number> {
    this.#live();
    this.#checkPower(mw);
    await settle(this.settleMs);
    this.#power = mw;
    return mw;
  }

  getPower(): number {
    return this.#power;
  }

  enableOutput(on: boolean): boolean {
    this.#live();
    this.#output = Boolean(on);
    return this.#output;
  }

  isOutputEnabled(): boolean {
    return this.#output;
  }

  getStatus(): { wavelength: number; power: number; output: boolean; range: [number, number] } {
    return {
      wavelength: this.#wavelength,
      power: this.#power,
      output: this.#output,
      range: [this.minWavelength, this.maxWavelength],
    };
  }

  /** What reaches the fibre: nothing while the shutter is closed or the laser is off. */
  [EMISSION](): { wavelength: number; powerMw: number } | null {
    return this.#connected && this.#output ? { wavelength: this.#wavelength, powerMw: this.#power } : null;
  }

  #live(): void {
    if (!this.#connected)
      throw new DeviceNotConnectedError(`SimLaser '${this.deviceId}' is not connected`, { device_id: this.deviceId });
  }

  #checkWavelength(nm: number): void {
    if (typeof nm !== "number" || !(nm >= this.minWavelength && nm <= this.maxWavelength)) {
      throw new DeviceOperationError(`wavelength ${nm} nm is outside ${this.minWavelength}–${this.maxWavelength} nm`, {
        device_id: this.deviceId,
        wavelength: nm,
      });
    }
  }

  #checkPower(mw: number): void {
    if (typeof mw !== "number" || !(mw >= 0 && mw <= this.maxPower)) {
      throw new DeviceOperationError(`power ${mw} mW is outside 0–${this.maxPower} mW`, {
        device_id: this.deviceId,
        power: mw,
      });
    }
  }
}

function settle(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

function num(deviceId: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new DeviceConfigurationError(
      `SimLaser '${deviceId}': ${name} must be a non-negative number, got ${JSON.stringify(v)}`,
      { device_id: deviceId, param: name },
    );
  }
  return v;
}
