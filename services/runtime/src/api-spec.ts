import { z } from "zod";

/**
 * How a service describes its public HTTP operations for the OpenAPI document the gateway serves
 * (`GET /api/openapi.json`, docs/api.md). Each service lists its operations next to its routes,
 * with the same zod schemas its handlers parse requests with and zod schemas of what it answers;
 * `npm run openapi` assembles them with the gateway's own answers into one document.
 */

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

/**
 * Who may call: anyone, anyone with an optional token, a signed-in user, or an admin. The gateway
 * checks the token; the service checks the role.
 */
export type OperationAccess = "public" | "optional" | "user" | "admin";

export interface ResponseSpec {
  description: string;
  /** The body's schema; absent for an answer without a body (204, 304). */
  schema?: z.ZodType;
  /** `application/json` unless given; a problem's is always `application/problem+json`. */
  contentType?: string;
  /** Response headers beyond the ones every API answer carries. */
  headers?: Record<string, { description: string; schema?: z.ZodType; required?: boolean }>;
}

export interface OperationSpec {
  method: HttpMethod;
  /** The service's path in Express syntax (`/products/:id`); the public path is `/api` + this. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  access: OperationAccess;
  /** Path parameters (strings as they appear in the URL). */
  params?: z.ZodObject;
  /** Query parameters: an object schema of strings, as the handler parses `req.query`. */
  query?: z.ZodType;
  body?: { schema?: z.ZodType; contentType?: string; required?: boolean; description?: string };
  /** The operation requires an `Idempotency-Key` header (and replays the first answer). */
  idempotencyKey?: boolean;
  /** The service's own answers, successes and errors alike, by status. */
  responses: Record<number, ResponseSpec>;
}

/** A service's part of the document: its operations and the schemas it names (components). */
export interface ServiceApi {
  service: string;
  /** Shown as the tag's description. */
  description: string;
  operations: OperationSpec[];
  /** Schemas referenced by name (`#/components/schemas/<name>`) wherever they are used. */
  schemas?: Record<string, z.ZodType>;
}

/** An error answer (RFC 9457), as `problemBody` renders every HttpError. */
export const problemSchema = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe("The fields that failed validation (400 Validation Failed)"),
  })
  .describe("An RFC 9457 problem: every error the API answers");

/** A problem answer with a description. */
export const problem = (description: string): ResponseSpec => ({
  description,
  schema: problemSchema,
  contentType: "application/problem+json",
});

/** A UUID as it appears in a path (upper case is accepted). */
export const uuidParam = z.string().describe("A UUID");
