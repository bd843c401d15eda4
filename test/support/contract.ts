/**
 * Checks an answer of the API against the OpenAPI document the gateway serves: the status is
 * one the operation lists, the content type is the one listed for it, and the body validates
 * against its schema (ajv, JSON Schema 2020-12, the document's dialect). `api()` runs it on
 * every answer, so each service and flow test is a contract test too.
 */
import { readFileSync } from "node:fs";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

// biome-ignore lint/suspicious/noExplicitAny: the document is JSON
type Json = any;

export const OPENAPI_DOCUMENT: Json = JSON.parse(
  readFileSync(new URL("../../services/gateway/src/openapi/openapi.json", import.meta.url), "utf8"),
);

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ ...OPENAPI_DOCUMENT, $id: "openapi.json" });

const validators = new Map<string, ValidateFunction>();
function validatorFor(pointer: string): ValidateFunction {
  let v = validators.get(pointer);
  if (!v) {
    v = ajv.compile({ $ref: `openapi.json#${pointer}` });
    validators.set(pointer, v);
  }
  return v;
}

// Compiled once, up front: a first compile inside a test's timed call would count against it.
for (const name of Object.keys(OPENAPI_DOCUMENT.components.schemas))
  validatorFor(`/components/schemas/${name}`);

interface Template {
  path: string;
  pattern: RegExp;
}

const TEMPLATES: Template[] = Object.keys(OPENAPI_DOCUMENT.paths).map((path) => ({
  path,
  pattern: new RegExp(`^${path.replace(/\{[^/}]+\}/g, "[^/]+")}$`),
}));

/** The document's path for a request path relative to `/api`; literal paths win over templates. */
export function documentPathOf(apiPath: string): string | undefined {
  const literal = TEMPLATES.find((t) => t.path === apiPath);
  if (literal) return literal.path;
  return (
    TEMPLATES.find((t) => !t.path.includes("{") && t.pattern.test(apiPath))?.path ??
    TEMPLATES.find((t) => t.pattern.test(apiPath))?.path
  );
}

/** Paths of a service that are not the public API: probes, metrics, keys, service-to-service. */
const NOT_PUBLIC = /^\/(health|ready|metrics|\.well-known)(\/|$)|^\/(api\/)?internal(\/|$)/;

const resolveRef = (node: Json): Json => {
  let n = node;
  while (n?.$ref) {
    n = n.$ref
      .slice(2)
      .split("/")
      .reduce((o: Json, key: string) => o[key.replace(/~1/g, "/").replace(/~0/g, "~")], OPENAPI_DOCUMENT);
  }
  return n;
};

const mediaMatches = (range: string, type: string) =>
  range === type || (range.endsWith("/*") && type.startsWith(range.slice(0, -1)));

export interface ContractAnswer {
  method: string;
  /** The URL's path as requested: `/api/...` through the gateway, the service's own path direct. */
  path: string;
  status: number;
  contentType: string;
  text: string;
  body: unknown;
}

/** What is wrong with an answer by the document, or undefined when it conforms. */
export function contractViolation(answer: ContractAnswer): string | undefined {
  const apiPath = answer.path.startsWith("/api/") ? answer.path.slice(4) : answer.path;
  if (NOT_PUBLIC.test(answer.path) || NOT_PUBLIC.test(apiPath)) return undefined;
  const where = `${answer.method} ${answer.path} answered ${answer.status}`;
  const type = answer.contentType.split(";")[0]!.trim().toLowerCase();
  const docPath = documentPathOf(apiPath);
  const operation = docPath ? OPENAPI_DOCUMENT.paths[docPath][answer.method.toLowerCase()] : undefined;

  if (!operation) {
    // No such operation: the only right answers are problems (404, 405, 400 for a bad path...).
    if (answer.status === 304 || answer.status < 400) {
      return `${where}, but the document has no ${answer.method} ${apiPath}`;
    }
    return checkBody(where, "/components/schemas/Problem", type, "application/problem+json", answer);
  }

  const responses = operation.responses;
  const response = resolveRef(responses[String(answer.status)] ?? responses.default);
  if (!response) {
    return `${where}, which the document does not list for it (it lists ${Object.keys(responses).join(", ")})`;
  }
  const content = response.content as Record<string, Json> | undefined;
  if (!content || answer.method === "HEAD") {
    if (answer.method !== "HEAD" && answer.text.length > 0) {
      return `${where} with a body, but the document lists none for it`;
    }
    return undefined;
  }
  const range = Object.keys(content).find((r) => mediaMatches(r, type));
  if (!range)
    return `${where} as ${type || "no content type"}; the document lists ${Object.keys(content).join(", ")}`;
  const schema = content[range].schema;
  if (!/json/.test(range)) return undefined;
  const pointer = schema?.$ref?.slice(1);
  if (!pointer) return `${where}: the document's schema for it has no $ref`;
  return checkBody(where, pointer, type, range, answer);
}

function checkBody(where: string, pointer: string, type: string, range: string, answer: ContractAnswer) {
  if (!mediaMatches(range, type))
    return `${where} as ${type || "no content type"}; the document says ${range}`;
  const validate = validatorFor(pointer);
  if (validate(answer.body)) return undefined;
  const errors = (validate.errors ?? [])
    .slice(0, 5)
    .map(
      (e) => `${e.instancePath || "(body)"} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`,
    );
  return `${where} with a body that does not match ${pointer}: ${errors.join("; ")}\n${answer.text.slice(0, 500)}`;
}
