// The simulated lab's optical path: simulated light sources announce themselves here by device id so a
// simulated detector can see the light of the source it is "spliced" to, wherever the two are created.

/** Symbol-keyed, so the light a source emits is not one of its remotely callable methods. */
export const EMISSION: unique symbol = Symbol("emission");

export interface LightSource {
  /** null when no light leaves the source. */
  [EMISSION](): { wavelength: number; powerMw: number } | null;
}

class Fibre {
  readonly #sources = new Map<string, LightSource>();
  /** Every source created, lit or not (weakly: a source nobody holds any more is gone). */
  readonly #declared = new Map<string, WeakRef<LightSource>>();

  /** A source exists under this id, so a detector naming it reads darkness, not an error, while it is off. */
  declareSource(id: string, source: LightSource): void {
    this.#declared.set(id, new WeakRef(source));
  }

  hasSource(id: string): boolean {
    return this.#sources.has(id) || this.#declared.get(id)?.deref() !== undefined;
  }

  attachSource(id: string, source: LightSource): void {
    this.#sources.set(id, source);
  }

  /** Only the source that attached itself may detach (a re-created device with the same id keeps its place). */
  detachSource(id: string, source: LightSource): void {
    if (this.#sources.get(id) === source) this.#sources.delete(id);
  }

  light(id: string): { wavelength: number; powerMw: number } | null {
    return this.#sources.get(id)?.[EMISSION]() ?? null;
  }
}

export const fibre = new Fibre();
