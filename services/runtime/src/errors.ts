/** A field-level validation error, as in RFC 9457 extension member `errors`. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * The one error base class: carries an HTTP status and renders as application/problem+json
 * (RFC 9457) in exactly one place, the problem middleware.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly extra: { errors?: FieldError[]; type?: string; headers?: Record<string, string> } & Record<
      string,
      unknown
    > = {},
  ) {
    super(detail ?? title);
  }
}

const slug = (title: string) => title.toLowerCase().replace(/[^a-z0-9]+/g, "-");

export const badRequest = (detail: string, errors?: FieldError[]) =>
  new HttpError(400, "Bad Request", detail, errors ? { errors } : {});
export const validationFailed = (errors: FieldError[]) =>
  new HttpError(400, "Validation Failed", errors.map((e) => `${e.path || "body"}: ${e.message}`).join("; "), {
    errors,
  });
export const unauthorized = (detail = "A valid access token is required") =>
  new HttpError(401, "Unauthorized", detail, {
    headers: { "WWW-Authenticate": 'Bearer realm="shopstream"' },
  });
export const forbidden = (detail = "You are not allowed to do this") =>
  new HttpError(403, "Forbidden", detail);
export const notFound = (detail = "Not found") => new HttpError(404, "Not Found", detail);
export const conflict = (detail: string, extra: Record<string, unknown> = {}) =>
  new HttpError(409, "Conflict", detail, extra);
export const unprocessable = (detail: string) => new HttpError(422, "Unprocessable Content", detail);
export const tooManyRequests = (detail: string, retryAfterSeconds: number) =>
  new HttpError(429, "Too Many Requests", detail, { headers: { "Retry-After": String(retryAfterSeconds) } });
export const serviceUnavailable = (detail: string) => new HttpError(503, "Service Unavailable", detail);

export function problemBody(err: HttpError, instance?: string): Record<string, unknown> {
  const { headers: _headers, type, ...members } = err.extra;
  return {
    type: type ?? `https://shopstream.dev/problems/${slug(err.title)}`,
    title: err.title,
    status: err.status,
    ...(err.detail ? { detail: err.detail } : {}),
    ...(instance ? { instance } : {}),
    ...members,
  };
}
