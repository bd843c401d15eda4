import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { HttpError, problemBody } from "@shopstream/runtime";

const pathOf = (url: string | undefined) => (url ?? "").split("?")[0]!;

/**
 * Answers with a problem+json (as the runtime's problem handler does) outside Express's error
 * chain, on a plain node:http response: the proxy and the hot path use it too.
 */
export function sendProblem(req: IncomingMessage, res: ServerResponse, problem: HttpError): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const url = (req as { originalUrl?: string }).originalUrl ?? req.url;
  const body = JSON.stringify(problemBody(problem, pathOf(url)));
  for (const [k, v] of Object.entries(problem.extra.headers ?? {})) res.setHeader(k, v);
  res.statusCode = problem.status;
  res.setHeader("Content-Type", "application/problem+json; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.end(body);
}

/** A problem+json written straight to the socket of an upgrade request, which has no response object. */
export function writeSocketProblem(
  socket: Socket,
  url: string | undefined,
  problem: HttpError,
  headers: Record<string, string> = {},
): void {
  if (socket.destroyed || socket.writableEnded) return;
  const body = JSON.stringify(problemBody(problem, pathOf(url)));
  const all: Record<string, string> = {
    "Content-Type": "application/problem+json",
    "Content-Length": String(Buffer.byteLength(body)),
    Connection: "close",
    ...problem.extra.headers,
    ...headers,
  };
  const head = Object.entries(all)
    .map(([k, v]) => `${k}: ${v}`)
    .join("\r\n");
  // The connection is not reused after an upgrade that failed: close it once the answer is out.
  socket.end(`HTTP/1.1 ${problem.status} ${problem.title}\r\n${head}\r\n\r\n${body}`, () => socket.destroy());
}

export const badGateway = (detail: string) => new HttpError(502, "Bad Gateway", detail);
export const gatewayTimeout = (detail: string) => new HttpError(504, "Gateway Timeout", detail);
export const requestTimeout = (idleMs: number) =>
  new HttpError(
    408,
    "Request Timeout",
    `The request body stopped arriving: nothing came for ${idleMs} ms; send it again`,
    { headers: { Connection: "close" } },
  );
export const contentTooLarge = (limit: number) =>
  new HttpError(413, "Content Too Large", `The request body may be at most ${limit} bytes`);
export const upstreamUnavailable = (detail: string, retryAfterSeconds: number) =>
  new HttpError(503, "Service Unavailable", detail, {
    headers: { "Retry-After": String(Math.max(1, retryAfterSeconds)) },
  });
