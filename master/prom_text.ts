/**
 * A writer for Prometheus' text exposition format (version 0.0.4): per metric family one
 * `# HELP`, one `# TYPE` and its samples, label values and help text escaped as the format
 * requires. Only counters and gauges (what hb exports); no timestamps.
 *
 * @module
 */

/** The content type of the text format. */
export const PROM_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Metric types hb writes. */
export type PromType = "counter" | "gauge";

/** Labels of one sample. */
export type PromLabels = Readonly<Record<string, string>>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Escapes help text: backslash and line feed. */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Formats a sample value (`+Inf`, `-Inf`, `NaN` as the format spells them). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Collects metric families and renders them. */
export class PromWriter {
  readonly #out: string[] = [];
  readonly #families = new Set<string>();
  #current: string | undefined;

  /**
   * Starts a metric family. Counter names must end in `_total`. Throws on an invalid or
   * repeated name (a programming error).
   */
  family(name: string, type: PromType, help: string): this {
    if (!NAME.test(name)) throw new Error(`metric name "${name}": not [a-zA-Z_:][a-zA-Z0-9_:]*`);
    if (type === "counter" && !name.endsWith("_total")) {
      throw new Error(`counter "${name}": its name must end in _total`);
    }
    if (this.#families.has(name)) throw new Error(`metric "${name}": written twice`);
    this.#families.add(name);
    this.#current = name;
    this.#out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    return this;
  }

  /** Adds a sample of the current family. */
  sample(value: number, labels: PromLabels = {}): this {
    const name = this.#current;
    if (name === undefined) throw new Error("sample() before family()");
    const parts: string[] = [];
    for (const [k, v] of Object.entries(labels)) {
      if (!LABEL.test(k) || k.startsWith("__")) {
        throw new Error(`metric "${name}": label name "${k}" is not allowed`);
      }
      parts.push(`${k}="${escapeLabelValue(v)}"`);
    }
    const l = parts.length > 0 ? `{${parts.join(",")}}` : "";
    this.#out.push(`${name}${l} ${formatValue(value)}`);
    return this;
  }

  /** The exposition text (ends with a line feed). */
  text(): string {
    return this.#out.length > 0 ? `${this.#out.join("\n")}\n` : "";
  }
}
