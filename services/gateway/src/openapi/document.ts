import { type OperationSpec, problemSchema, type ResponseSpec, type ServiceApi } from "@shopstream/runtime";
import { z } from "zod";
import { NOTIFICATIONS_WS_PATH, resolveRoute } from "../domain/routes.js";

/**
 * The public API as OpenAPI 3.1, assembled from every service's operations (their zod schemas,
 * converted with zod's own JSON Schema output) and what the gateway adds to each: its answers
 * (401, 413, 429, 5xx), the rate-limit and request-id headers, the bearer scheme and the
 * WebSocket. `npm run openapi` writes the result beside this file; the gateway serves it.
 */

// biome-ignore lint/suspicious/noExplicitAny: a JSON document under construction
type Json = any;

const REF = (name: string) => `#/components/schemas/${name}`;
const PROBLEM_JSON = "application/problem+json";

/** `/products/:id` → `/products/{id}`. */
export const openApiPath = (expressPath: string) => expressPath.replace(/:([A-Za-z_]\w*)/g, "{$1}");

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** JSON Schema for OpenAPI 3.1 (2020-12) without the members a component does not carry. */
function clean(schema: Json): Json {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

/** The members of an object schema as parameters (`in` path or query), as strings arrive. */
function parametersOf(schema: z.ZodType, where: "path" | "query"): Json[] {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Json;
  const required = new Set<string>(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property as Json;
    return {
      name,
      in: where,
      required: where === "path" || required.has(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

/** The headers every answer of `/api` carries (components.headers). */
const COMMON_HEADERS = {
  "X-Request-Id": {
    description: "The request's id (the client's own when it sent one), also in every log line it caused",
    schema: { type: "string" },
  },
  RateLimit: {
    description:
      'What is left of each rate-limit bucket this request drew from (IETF draft-ietf-httpapi-ratelimit-headers), e.g. `"api";r=119;t=42`. Absent only when the limits cannot be counted.',
    schema: { type: "string" },
  },
  "RateLimit-Policy": {
    description: 'The buckets\' quotas and windows, e.g. `"api";q=120;w=60, "auth";q=10;w=60`',
    schema: { type: "string" },
  },
  "Retry-After": {
    description: "Seconds to wait before trying again",
    schema: { type: "integer", minimum: 0 },
  },
};

const headerRefs = (extra: Record<string, Json> = {}) => ({
  "X-Request-Id": { $ref: "#/components/headers/X-Request-Id" },
  RateLimit: { $ref: "#/components/headers/RateLimit" },
  "RateLimit-Policy": { $ref: "#/components/headers/RateLimit-Policy" },
  ...extra,
});

/** What the gateway answers on its own, for any operation it routes. */
const GATEWAY_ANSWERS: Record<number, { description: string; when: (op: OperationSpec) => boolean }> = {
  400: {
    description: "The request is malformed or failed validation (`errors` names the fields)",
    when: () => true,
  },
  401: {
    description:
      "No valid access token where one is required, or an invalid or expired one sent anywhere (`WWW-Authenticate: Bearer`)",
    when: () => true,
  },
  403: {
    description: "The signed-in user may not do this (admins only)",
    when: (op) => op.access === "admin",
  },
  404: { description: "Nothing at this path", when: (op) => op.params !== undefined },
  408: {
    description: "The body stopped arriving before it was complete (`Connection: close`); send it again",
    when: (op) => op.body !== undefined,
  },
  413: { description: "The body is larger than the gateway accepts", when: (op) => op.body !== undefined },
  429: {
    description: "A rate limit is spent: wait `Retry-After` seconds",
    when: () => true,
  },
  500: { description: "Something went wrong on the server's side", when: () => true },
  502: {
    description: "The service behind this path answered badly or closed the connection",
    when: () => true,
  },
  503: {
    description:
      "The service (or what it needs) is unavailable or its circuit is open, or tokens cannot be checked; `Retry-After` may say when to try again",
    when: () => true,
  },
  504: { description: "The service did not answer in time", when: () => true },
};

const RETRY_AFTER_STATUSES = new Set([429, 503]);

export interface DocumentInfo {
  version: string;
}

/** Builds the OpenAPI 3.1 document of `/api` from the services' parts. */
export function buildOpenApiDocument(apis: ServiceApi[], info: DocumentInfo): Json {
  // Two registries: request schemas as clients send them (input), answers as services send them.
  const inputs = z.registry<{ id: string }>();
  const outputs = z.registry<{ id: string }>();
  outputs.add(problemSchema, { id: "Problem" });
  const requestSchemas = new Set<z.ZodType>(
    apis.flatMap((api) => api.operations.flatMap((op) => (op.body?.schema ? [op.body.schema] : []))),
  );
  for (const api of apis) {
    for (const [name, schema] of Object.entries(api.schemas ?? {})) {
      (requestSchemas.has(schema) ? inputs : outputs).add(schema, { id: name });
    }
  }
  const nameOf = (registry: typeof inputs, schema: z.ZodType, fallback: string): string => {
    const known = registry.get(schema)?.id;
    if (known) return known;
    registry.add(schema, { id: fallback });
    return fallback;
  };

  const paths: Record<string, Json> = {};
  const tags: Json[] = [];
  for (const api of apis) {
    const seen = new Set<string>();
    for (const op of api.operations) {
      if (!seen.has(op.tag)) tags.push({ name: op.tag, description: api.description });
      seen.add(op.tag);
      const path = openApiPath(op.path);
      const route = resolveRoute(op.method, op.path);
      if (!route || route.upstream !== api.service) {
        throw new Error(
          `${op.method.toUpperCase()} ${op.path} is not routed to ${api.service} by the gateway`,
        );
      }
      paths[path] ??= {};
      paths[path][op.method] = operationOf(op, {
        body: (schema) => nameOf(inputs, schema, `${capital(op.operationId)}Request`),
        response: (schema, status) => nameOf(outputs, schema, `${capital(op.operationId)}${status}`),
      });
    }
  }
  paths[NOTIFICATIONS_WS_PATH.slice("/api".length)] = { get: websocketOperation() };
  tags.sort((a, b) => a.name.localeCompare(b.name));

  const uri = (id: string) => REF(id);
  const components = {
    ...(z.toJSONSchema(inputs, { io: "input", uri, unrepresentable: "any" }).schemas as Json),
    ...(z.toJSONSchema(outputs, { io: "output", uri, unrepresentable: "any" }).schemas as Json),
  };
  const schemas = Object.fromEntries(
    Object.entries(components)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, schema]) => [name, clean(schema)]),
  );

  return {
    openapi: "3.1.0",
    info: {
      title: "ShopStream API",
      version: info.version,
      summary:
        "The public API of the ShopStream shop: catalog, accounts, cart, checkout, orders, notifications",
      description: [
        "Every path is under `/api` on the shop's own origin. Errors are `application/problem+json` (RFC 9457).",
        "Every answer carries `RateLimit` and `RateLimit-Policy` (per user with a token, else per address; sign-in paths draw from a second, smaller bucket) and `X-Request-Id`.",
        "Access tokens live 15 minutes: send `Authorization: Bearer <accessToken>` from `POST /auth/login` and renew them with `POST /auth/refresh`.",
      ].join("\n\n"),
      license: { name: "Proprietary" },
    },
    jsonSchemaDialect: "https://spec.openapis.org/oas/3.1/dialect/base",
    servers: [{ url: "/api", description: "This shop" }],
    tags,
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      schemas,
      responses: Object.fromEntries(
        Object.entries(GATEWAY_ANSWERS).map(([status, answer]) => [
          status,
          responseOf(Number(status), { description: answer.description, schema: problemSchema }, "Problem"),
        ]),
      ),
      headers: COMMON_HEADERS,
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "The `accessToken` of a session (`POST /auth/login`), valid 15 minutes",
        },
      },
    },
  };
}

interface Namers {
  body(schema: z.ZodType): string;
  response(schema: z.ZodType, status: number): string;
}

function responseOf(status: number, spec: ResponseSpec, schemaName: string | undefined): Json {
  const contentType = spec.contentType ?? (status >= 400 ? PROBLEM_JSON : "application/json");
  const own = Object.fromEntries(
    Object.entries(spec.headers ?? {}).map(([name, h]) => [
      name,
      {
        description: h.description,
        ...(h.required ? { required: true } : {}),
        schema: h.schema ? clean(z.toJSONSchema(h.schema)) : { type: "string" },
      },
    ]),
  );
  const retryAfter = RETRY_AFTER_STATUSES.has(status)
    ? { "Retry-After": { $ref: "#/components/headers/Retry-After" } }
    : {};
  return {
    description: spec.description,
    headers: headerRefs({ ...retryAfter, ...own }),
    ...(schemaName ? { content: { [contentType]: { schema: { $ref: REF(schemaName) } } } } : {}),
  };
}

function operationOf(op: OperationSpec, names: Namers): Json {
  const parameters = [
    ...(op.params ? parametersOf(op.params, "path") : []),
    ...(op.query ? parametersOf(op.query, "query") : []),
    ...(op.idempotencyKey
      ? [
          {
            name: "Idempotency-Key",
            in: "header",
            required: true,
            description:
              "A unique value per attempt (a UUID): a retry with the same key gets the first answer instead of a second order",
            schema: { type: "string", minLength: 1, maxLength: 200 },
          },
        ]
      : []),
  ];
  const responses: Record<string, Json> = {};
  for (const [status, spec] of Object.entries(op.responses)) {
    const code = Number(status);
    responses[status] = responseOf(code, spec, spec.schema ? names.response(spec.schema, code) : undefined);
  }
  for (const [status, answer] of Object.entries(GATEWAY_ANSWERS)) {
    if (responses[status] || !answer.when(op)) continue;
    responses[status] = { $ref: `#/components/responses/${status}` };
  }
  const security =
    op.access === "public" ? [] : op.access === "optional" ? [{}, { bearer: [] }] : [{ bearer: [] }];
  const body = op.body;
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [op.tag],
    security,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(body
      ? {
          requestBody: {
            required: body.required ?? true,
            ...(body.description ? { description: body.description } : {}),
            content: {
              [body.contentType ?? "application/json"]: body.schema
                ? { schema: { $ref: REF(names.body(body.schema)) } }
                : { schema: { type: "string", contentMediaType: body.contentType } },
            },
          },
        }
      : {}),
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b))),
  };
}

/** The notification WebSocket: OpenAPI has no WebSocket operation, so the upgrade is described. */
function websocketOperation(): Json {
  const problemAnswer = (description: string) => ({
    description,
    headers: headerRefs(),
    content: { [PROBLEM_JSON]: { schema: { $ref: REF("Problem") } } },
  });
  return {
    operationId: "openNotificationSocket",
    summary: "Live order updates (WebSocket)",
    description: [
      'Open with a WebSocket client, not a plain GET: `new WebSocket("wss://<shop>/api/notifications/ws", ["bearer", accessToken])`.',
      "The access token travels as the second subprotocol (`Sec-WebSocket-Protocol: bearer, <token>`), never in the URL: an upgrade with `access_token` in its query is refused with `400`.",
      "The server sends one JSON text message per order change of the user, on every open connection of that user: a `Notification` (`{id, type, orderId, status, at}`). The client sends nothing.",
    ].join("\n\n"),
    tags: ["notifications"],
    security: [{ bearer: [] }],
    parameters: [
      { name: "Upgrade", in: "header", required: true, schema: { const: "websocket" } },
      {
        name: "Sec-WebSocket-Protocol",
        in: "header",
        required: true,
        description: "`bearer, <accessToken>`",
        schema: { type: "string" },
      },
    ],
    responses: {
      101: {
        description: "Switched to the WebSocket protocol (subprotocol `bearer`); messages follow",
        headers: headerRefs(),
      },
      400: problemAnswer("Not a WebSocket upgrade, or a token in the URL"),
      401: problemAnswer("No valid access token"),
      429: problemAnswer("A rate limit is spent"),
      503: problemAnswer("Tokens cannot be checked, or the notification service is unavailable"),
    },
    "x-websocket": {
      subprotocol: "bearer",
      serverMessages: { $ref: REF("Notification") },
    },
  };
}
