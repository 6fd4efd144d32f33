// Form fields generated from JSON schemas (a method's parameters, a task type's params): numbers with
// their bounds, enums as selects, booleans, strings, anything else as JSON; values collected by name.
import { html } from "htm/preact";

export type JsonSchema = Record<string, unknown>;

export interface FieldSpec {
  name: string;
  schema: JsonSchema | null;
  required: boolean;
  default?: unknown;
  /** The parameter's JSON type when no schema says it (a method without metadata: "any"). */
  type?: string;
}

type Kind = "number" | "integer" | "enum" | "boolean" | "string" | "json";

/** The values an enum-like schema allows: `enum`, or a union of `const` members (typebox's t.Literal). */
function enumValues(schema: JsonSchema | null): unknown[] | null {
  if (!schema) return null;
  if (Array.isArray(schema.enum)) return schema.enum;
  const members = Array.isArray(schema.anyOf) ? (schema.anyOf as JsonSchema[]) : null;
  if (members && members.length > 0 && members.every((m) => Object.hasOwn(m, "const")))
    return members.map((m) => m.const);
  return null;
}

function kindOf(spec: FieldSpec): Kind {
  if (enumValues(spec.schema)) return "enum";
  const type = (spec.schema?.type as string | undefined) ?? spec.type;
  if (type === "number") return "number";
  if (type === "integer") return "integer";
  if (type === "boolean") return "boolean";
  if (type === "string") return "string";
  return "json";
}

/** Fields of an object schema (a task's params), in declaration order. */
export function fieldsOfObject(schema: JsonSchema | null): FieldSpec[] {
  const props = (schema?.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set(Array.isArray(schema?.required) ? (schema!.required as string[]) : []);
  return Object.entries(props).map(([name, s]) => ({
    name,
    schema: s,
    required: required.has(name),
    default: s.default,
  }));
}

function hint(spec: FieldSpec, kind: Kind): string {
  const s = spec.schema ?? {};
  const parts: string[] = [kind === "json" ? "JSON" : kind];
  if (typeof s.minimum === "number" || typeof s.maximum === "number")
    parts.push(`${s.minimum ?? "−∞"}…${s.maximum ?? "∞"}`);
  if (!spec.required) parts.push(spec.default !== undefined ? `default ${JSON.stringify(spec.default)}` : "optional");
  return parts.join(", ");
}

/** The inputs for `specs`; `prefix` keeps ids unique on the page (labels point at them). */
export function SchemaFields({ specs, prefix }: { specs: FieldSpec[]; prefix: string }) {
  return specs.map((spec) => {
    const kind = kindOf(spec);
    const id = `${prefix}-${spec.name}`;
    const s = spec.schema ?? {};
    const description = typeof s.description === "string" ? s.description : "";
    let input;
    if (kind === "enum") {
      const values = enumValues(spec.schema)!;
      input = html`<select id=${id} name=${spec.name} data-kind="enum">
        ${spec.required ? null : html`<option value="">(default)</option>`}
        ${values.map((v, i) => html`<option value=${String(i)}>${JSON.stringify(v)}</option>`)}
      </select>`;
    } else if (kind === "boolean") {
      input = html`<select id=${id} name=${spec.name} data-kind="boolean">
        ${spec.required ? null : html`<option value="">(default)</option>`}
        <option value="true">true</option><option value="false">false</option>
      </select>`;
    } else if (kind === "number" || kind === "integer") {
      // Bounds are shown, not enforced here: the server validates, and its 422 is what a script would see.
      input = html`<input id=${id} name=${spec.name} data-kind=${kind} type="text" inputmode="decimal"
        placeholder=${spec.default !== undefined ? String(spec.default) : ""} />`;
    } else {
      input = html`<input id=${id} name=${spec.name} data-kind=${kind} type="text"
        placeholder=${spec.default !== undefined ? (kind === "json" ? JSON.stringify(spec.default) : String(spec.default)) : ""} />`;
    }
    return html`<div class="field">
      <label for=${id}>${spec.name}${spec.required ? html`<span class="req" title="required">*</span>` : null}</label>
      ${input}
      <small class="hint" title=${description}>${hint(spec, kind)}${description ? ` — ${description}` : ""}</small>
    </div>`;
  });
}

/**
 * The filled-in values by name; empty optional fields are left out (the server applies its defaults).
 * A number field holding something that is no number is sent as written, so the server's 422 names it.
 */
export function collectValues(form: HTMLFormElement, specs: FieldSpec[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of specs) {
    const el = form.elements.namedItem(spec.name) as HTMLInputElement | HTMLSelectElement | null;
    if (!el) continue;
    const raw = el.value.trim();
    if (raw === "") continue;
    const kind = el.dataset.kind as Kind;
    if (kind === "enum") out[spec.name] = enumValues(spec.schema)![Number(raw)];
    else if (kind === "boolean") out[spec.name] = raw === "true";
    else if (kind === "number" || kind === "integer") out[spec.name] = Number.isFinite(Number(raw)) ? Number(raw) : raw;
    else if (kind === "string") out[spec.name] = el.value;
    else {
      try {
        out[spec.name] = JSON.parse(raw);
      } catch {
        out[spec.name] = raw;
      }
    }
  }
  return out;
}
