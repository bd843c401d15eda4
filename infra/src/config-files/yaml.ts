/**
 * A small YAML emitter for the plain data the config generators build (objects, arrays, strings,
 * numbers, booleans, null). Strings that YAML could read as something else are double-quoted
 * with JSON escapes, which YAML's double-quoted style shares.
 */
export function toYaml(value: unknown): string {
  if (!isBlock(value)) return `${scalar(value)}\n`;
  return `${lines(value, 0).join("\n")}\n`;
}

type Plain = Record<string, unknown>;

const isObject = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);
const isBlock = (v: unknown): v is Plain | unknown[] =>
  (Array.isArray(v) && v.length > 0) || (isObject(v) && Object.values(v).some((x) => x !== undefined));
const pad = (n: number) => " ".repeat(n);

function lines(value: Plain | unknown[], indent: number): string[] {
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      if (!isBlock(item)) return [`${pad(indent)}- ${scalar(item)}`];
      const inner = lines(item, indent + 2);
      inner[0] = `${pad(indent)}- ${inner[0]!.slice(indent + 2)}`;
      return inner;
    });
  }
  return Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .flatMap(([key, v]) =>
      isBlock(v)
        ? [`${pad(indent)}${text(key)}:`, ...lines(v, indent + 2)]
        : [`${pad(indent)}${text(key)}: ${scalar(v)}`],
    );
}

function scalar(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "[]";
  if (isObject(v)) return "{}";
  if (typeof v === "boolean") return String(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`cannot write ${v} to YAML`);
    return String(v);
  }
  return text(String(v));
}

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./@+-]*( [A-Za-z0-9_./@+()-]+)*$/;
const RESERVED = /^(true|false|yes|no|on|off|y|n|null|~)$/i;

/** A string as YAML reads it back unchanged. */
function text(s: string): string {
  return PLAIN.test(s) && !RESERVED.test(s) ? s : JSON.stringify(s);
}
