import type { Socket } from "node:net";
import { HttpError, problemBody } from "@shopstream/runtime";
import type { Request, Response } from "express";

const pathOf = (url: string | undefined) => (url ?? "").split("?")[0]!;

/** Answers with a problem+json (as the runtime's problem handler does) outside the error chain. */
export function sendProblem(req: Request, res: Response, problem: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [k, v] of Object.entries(problem.extra.headers ?? {})) res.setHeader(k, v);
  res
    .status(problem.status)
    .type("application/problem+json")
    .send(JSON.stringify(problemBody(problem, pathOf(req.originalUrl ?? req.url))));
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
export const contentTooLarge = (limit: number) =>
  new HttpError(413, "Content Too Large", `The request body may be at most ${limit} bytes`);
export const upstreamUnavailable = (detail: string, retryAfterSeconds: number) =>
  new HttpError(503, "Service Unavailable", detail, {
    headers: { "Retry-After": String(Math.max(1, retryAfterSeconds)) },
  });
