import { contractViolation } from "./contract.js";

export interface ApiResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests assert on the shape of JSON bodies
  body: any;
  text: string;
}

export interface ApiRequest {
  method?: string;
  /** Serialised as JSON unless it is already a string or a Buffer. */
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  /** Gives up on the call (it rejects), e.g. `AbortSignal.timeout(ms)` for a bound on the answer. */
  signal?: AbortSignal;
}

/** One HTTP call, as a client of the API makes it; the body is parsed when it is JSON. */
export async function api(url: string, request: ApiRequest = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...request.headers };
  let body: string | Buffer | undefined;
  if (request.body !== undefined) {
    if (typeof request.body === "string" || Buffer.isBuffer(request.body)) {
      body = request.body;
    } else {
      body = JSON.stringify(request.body);
      headers["content-type"] ??= "application/json";
    }
  }
  if (request.token) headers.authorization = `Bearer ${request.token}`;
  const res = await fetch(url, {
    method: request.method ?? (body ? "POST" : "GET"),
    headers,
    body,
    ...(request.signal ? { signal: request.signal } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  if (/json/.test(res.headers.get("content-type") ?? "") && text) parsed = JSON.parse(text);
  // A stand-in upstream (test/gateway/stubs.ts) marks its answers: they are not the API's.
  if (!res.headers.has("x-stand-in")) {
    const violation = contractViolation({
      method: request.method ?? (body ? "POST" : "GET"),
      path: new URL(url).pathname,
      status: res.status,
      contentType: res.headers.get("content-type") ?? "",
      text,
      body: parsed,
    });
    if (violation) throw new Error(`The answer breaks the API's OpenAPI document: ${violation}`);
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** Asserts the RFC 9457 shape every error of the platform has. */
export function isProblem(res: ApiResponse, status: number): boolean {
  return (
    res.status === status &&
    (res.headers.get("content-type") ?? "").startsWith("application/problem+json") &&
    res.body?.status === status &&
    typeof res.body?.title === "string"
  );
}
