import type { ServiceTokenSigner } from "@shopstream/runtime";
import { UpstreamError } from "../domain/ports.js";

export interface UpstreamResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: validated by the caller
  body: any;
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  requestId?: string | undefined;
  authorization?: string | undefined;
  /** Signs the service token an internal route requires (`ServiceTokenSigner`). */
  tokens?: ServiceTokenSigner | undefined;
}

/** JSON over HTTP to a sibling service, bounded by `timeoutMs`. */
export async function callService(
  service: string,
  url: string,
  timeoutMs: number,
  options: CallOptions = {},
): Promise<UpstreamResponse> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.requestId) headers["x-request-id"] = options.requestId;
  if (options.authorization) headers.authorization = options.authorization;
  const method = options.method ?? (options.body === undefined ? "GET" : "POST");
  if (options.tokens) Object.assign(headers, await options.tokens.headers(service, method, url));
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new UpstreamError(`${service} did not answer: ${(err as Error).message}`);
  }
  const text = await res.text().catch(() => "");
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (res.status >= 500) throw new UpstreamError(`${service} answered ${res.status}`);
  return { status: res.status, body };
}
