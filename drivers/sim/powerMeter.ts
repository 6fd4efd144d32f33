// SimPowerMeter: a simulated optical power meter behind a simulated device under test — a ring
// resonator whose Lorentzian dip makes the reading depend on the laser's wavelength, so a wavelength
// sweep finds a resonance as it would on a real bench.
import { t, type Static } from "elysia";
import { DeviceConfigurationError, DeviceNotConnectedError } from "../../src/core/errors.ts";
import { fibre } from "./fibre.ts";

const nonNegative = (description: string) => t.Optional(t.Number({ minimum: 0, description }));

const ResonanceSchema = t.Object(
  {
    center: nonNegative("nm; default 1550.5"),
    // Ranges left to the constructor, whose messages say them ("resonance.depth must be within 0–1").
    fwhm: t.Optional(t.Number({ description: "full width at half depth, nm, above 0; default 0.2" })),
    depth: t.Optional(t.Number({ description: "fraction of the light removed at the centre, 0–1; default 0.9" })),
  },
  { additionalProperties: false },
);

/** What the constructor reads; the daemon refuses anything else before constructing. */
const SimPowerMeterParamsSchema = t.Object(
  {
    source: t.Optional(
      t.String({
        minLength: 1,
        description: 'device id of the SimLaser whose light reaches this meter; default "laser1"',
      }),
    ),
    resonance: t.Optional(ResonanceSchema),
    noise: nonNegative("relative noise (standard deviation) of a reading; default 0.002"),
    floorMw: nonNegative("what the meter reads in the dark, mW; default 1e-6"),
    averagingMs: nonNegative("ms one reading takes (the meter's averaging time); default 5"),
  },
  { additionalProperties: false },
);

export type ResonanceParams = Static<typeof ResonanceSchema>;
export type SimPowerMeterParams = Static<typeof SimPowerMeterParamsSchema>;

export class SimPowerMeter {
  static params = SimPowerMeterParamsSchema;
  /** What a client may call over HTTP; everything else stays in-process. */
  static remote = ["readPower", "readPowerDbm", "transmission", "getResonance"];
  static methods = {
    readPower: { params: {}, doc: "One reading, mW." },
    readPowerDbm: { params: {}, doc: "One reading, dBm." },
    transmission: {
      params: { wavelength: t.Number({ minimum: 0, description: "nm" }) },
      doc: "The device under test's noiseless transmission (0–1) at a wavelength.",
    },
    getResonance: { params: {}, doc: "The simulated resonance: center, fwhm (nm) and depth." },
  };

  readonly deviceId: string;
  readonly source: string;
  readonly center: number;
  readonly fwhm: number;
  readonly depth: number;
  readonly noise: number;
  readonly floorMw: number;
  readonly averagingMs: number;
  #connected = false;

  constructor(deviceId: string, params: SimPowerMeterParams = {}) {
    this.deviceId = deviceId;
    const fail = (why: string) => {
      throw new DeviceConfigurationError(`SimPowerMeter '${deviceId}': ${why}`, { device_id: deviceId });
    };
    this.source = params.source ?? "laser1";
    if (typeof this.source !== "string") fail("source must be a device id");
    const r = params.resonance ?? {};
    this.center = r.center ?? 1550.5;
    this.fwhm = r.fwhm ?? 0.2;
    this.depth = r.depth ?? 0.9;
    this.noise = params.noise ?? 0.002;
    this.floorMw = params.floorMw ?? 1e-6;
    this.averagingMs = params.averagingMs ?? 5;
    for (const [k, v] of Object.entries({
      center: this.center,
      fwhm: this.fwhm,
      noise: this.noise,
      floorMw: this.floorMw,
      averagingMs: this.averagingMs,
    })) {
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
        fail(`${k} must be a non-negative number, got ${JSON.stringify(v)}`);
    }
    if (!(this.fwhm > 0)) fail("resonance.fwhm must be above 0");
    if (!(typeof this.depth === "number" && this.depth >= 0 && this.depth <= 1))
      fail("resonance.depth must be within 0–1");
  }

  connect(): void {
    this.#connected = true;
  }

  disconnect(): void {
    this.#connected = false;
  }

  isConnected(): boolean {
    return this.#connected;
  }

  async readPower(): Promise<number> {
    if (!this.#connected)
      throw new DeviceNotConnectedError(`SimPowerMeter '${this.deviceId}' is not connected`, {
        device_id: this.deviceId,
      });
    if (!fibre.hasSource(this.source)) {
      // Reading darkness from a laser that does not exist would look like a dead sample, not a typo.
      throw new DeviceConfigurationError(
        `SimPowerMeter '${this.deviceId}': no SimLaser '${this.source}' exists (params.source must name the laser whose light reaches this meter)`,
        { device_id: this.deviceId, source: this.source },
      );
    }
    if (this.averagingMs > 0) await new Promise((r) => setTimeout(r, this.averagingMs));
    const light = fibre.light(this.source);
    const signal = light ? light.powerMw * this.transmission(light.wavelength) : 0;
    return Math.max(0, (signal + this.floorMw) * (1 + this.noise * gaussian()));
  }

  async readPowerDbm(): Promise<number> {
    return 10 * Math.log10(Math.max(await this.readPower(), 1e-12));
  }

  transmission(wavelength: number): number {
    const x = (wavelength - this.center) / (this.fwhm / 2);
    return 1 - this.depth / (1 + x * x);
  }

  getResonance(): { center: number; fwhm: number; depth: number } {
    return { center: this.center, fwhm: this.fwhm, depth: this.depth };
  }
}

/** Standard normal deviate (Box–Muller). */
function gaussian(): number {
  const u = 1 - Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
}
