import { AsyncResource } from "node:async_hooks";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { pipeline, Transform } from "node:stream";
import type { Logger } from "@shopstream/runtime";
import { Pool } from "undici";
import type { CircuitBreaker } from "../../domain/circuit-breaker.js";
import type { Upstream } from "../../domain/routes.js";
import {
  badGateway,
  contentTooLarge,
  gatewayTimeout,
  requestTimeout,
  sendProblem,
  upstreamUnavailable,
  writeSocketProblem,
} from "./problems.js";

export type ProxyOutcome =
  | "answered"
  | "refused"
  | "timeout"
  | "broken"
  | "too_large"
  | "body_timeout"
  | "circuit_open"
  | "client_gone";

/** How one request is forwarded. */
export interface ForwardOptions {
  /** Path and query as the service serves them (without `/api`). */
  path: string;
  bodyLimit: number;
  /**
   * `buffer`: the body is read whole first (JSON; the service never waits on a slow client);
   * `stream`: it flows through as it comes (image uploads), each chunk counted.
   */
  body: "buffer" | "stream";
  /** Response headers must arrive within this after the request was fully sent. */
  timeoutMs: number;
  /**
   * Called exactly once when the exchange is over, however it ended: with the whole answer when
   * the service's answer was forwarded completely (and is small), otherwise with undefined. The
   * catalog cache keeps shareable answers and releases the requests waiting on this one.
   */
  capture?: (answer: UpstreamAnswer | undefined) => void;
  /** Whether `capture` wants an answer with these status and headers (asked when they arrive). */
  keep?: (status: number, headers: Record<string, string | string[]>) => boolean;
  /** Runs when the service's answer begins, before the client gets any of it. */
  onStatus?: (status: number) => void;
}

export interface UpstreamAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export interface UpstreamProxy {
  name: Upstream;
  breaker: CircuitBreaker;
  forward(req: IncomingMessage, res: ServerResponse, options: ForwardOptions): void;
  /** Proxies an authorised WebSocket upgrade to `path`. */
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer, path: string, timeoutMs: number): void;
  close(): Promise<void>;
}

const REFUSED = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
/** Hop-by-hop headers (RFC 9110 7.6.1) and what the pool sets itself. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "expect",
  "content-length",
  "http2-settings",
  // The client's trace context is continued by the gateway's own span, whose context the
  // instrumented pool sends instead (docs/tracing.md); forwarding it too would send two.
  "traceparent",
  "tracestate",
]);
/** Largest answer `capture` is given; bigger ones just stream through. */
const CAPTURE_LIMIT = 256 * 1024;

class ClientFault extends Error {
  constructor(readonly outcome: "too_large" | "body_timeout") {
    super(outcome);
  }
}

/**
 * The headers the service gets: the client's, minus hop-by-hop ones, plus X-Forwarded-*. The
 * services trust the gateway alone, so X-Forwarded-For is the client the gateway determined
 * (TRUST_PROXY: from the edge's header when the edge connected), not a chain a client sent.
 */
function upstreamHeaders(
  req: IncomingMessage,
  keepLength: boolean,
  client: string,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const h: IncomingHttpHeaders = req.headers;
  for (const key in h) {
    const value = h[key];
    if (value === undefined || HOP_BY_HOP.has(key)) continue;
    out[key] = value;
  }
  if (keepLength && h["content-length"] !== undefined) out["content-length"] = h["content-length"];
  out["x-forwarded-for"] = client;
  out["x-forwarded-proto"] = (h["x-forwarded-proto"] as string | undefined) ?? "http";
  out["x-forwarded-host"] = (h["x-forwarded-host"] as string | undefined) ?? h.host ?? "";
  out["x-forwarded-port"] =
    (h["x-forwarded-port"] as string | undefined) ?? String(req.socket.localPort ?? "");
  return out;
}

const hasBody = (req: IncomingMessage) =>
  req.headers["transfer-encoding"] !== undefined ||
  (req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0");

const gone = (req: IncomingMessage, res: ServerResponse) =>
  res.destroyed || res.writableEnded || req.socket.destroyed;

/**
 * Reads a whole request body, at most `limit` bytes, failing with a ClientFault when a chunk
 * does not arrive within `idleMs` (the client stalled) or the body grows past the limit.
 */
function readBody(req: IncomingMessage, limit: number, idleMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      clearTimeout(timer);
      req.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
      if (err) reject(err);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const timer = setTimeout(() => done(new ClientFault("body_timeout")), idleMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return done(new ClientFault("too_large"));
      chunks.push(chunk);
      timer.refresh();
    };
    const onEnd = () => done();
    const onError = (err: Error) => done(err);
    const onClose = () => done(new Error("client went away"));
    req.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
  });
}

/** Passes an upload through, counting it against the limit and the idle timeout. */
function countingStream(limit: number, idleMs: number, onEnd: () => void): Transform {
  let size = 0;
  const counter: Transform = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      size += chunk.length;
      timer.refresh();
      if (size > limit) return callback(new ClientFault("too_large"));
      callback(null, chunk);
    },
    flush(callback) {
      clearTimeout(timer);
      onEnd();
      callback();
    },
  });
  const timer = setTimeout(() => counter.destroy(new ClientFault("body_timeout")), idleMs);
  counter.on("close", () => clearTimeout(timer));
  return counter;
}

/**
 * One upstream service behind an undici keep-alive pool. The circuit is told only what the
 * upstream did: a refused or reset connection, or no response headers within the route's timeout
 * counted from the moment the request was fully sent. A client that goes away aborts the upstream
 * request and tells the circuit nothing (`client_gone`); a client whose body stops arriving gets a
 * 408 from the gateway's own body idle timeout and never reaches the service.
 */
export function createUpstreamProxy(options: {
  name: Upstream;
  target: string;
  breaker: CircuitBreaker;
  logger: Logger;
  /** Idle time allowed between two chunks of a request body before a 408. */
  bodyIdleMs: number;
  /** Keep-alive connections to the service. */
  connections: number;
  /** The client's address as the gateway determined it (TRUST_PROXY). */
  clientOf: (req: IncomingMessage) => string;
  outcomes: { inc(labels: { upstream: string; outcome: ProxyOutcome }): void };
}): UpstreamProxy {
  const { name, breaker, logger } = options;
  const pool = new Pool(options.target, {
    connections: options.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    // The gateway runs its own timers: the clock starts when the request is fully sent.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const count = (outcome: ProxyOutcome) => options.outcomes.inc({ upstream: name, outcome });
  const seconds = (ms: number) => `${(ms / 1000).toLocaleString("en", { maximumFractionDigits: 3 })} s`;
  const circuitOpen = () =>
    upstreamUnavailable(
      `The ${name} service is unavailable right now; try again shortly`,
      Math.ceil(breaker.retryInMs() / 1000),
    );

  function forward(req: IncomingMessage, res: ServerResponse, options_: ForwardOptions): void {
    let ended = false;
    const o: ForwardOptions = {
      ...options_,
      capture(answer) {
        if (ended) return;
        ended = true;
        options_.capture?.(answer);
      },
    };
    // Whatever way the response ends, `capture` has been told by then.
    res.once("close", () => setImmediate(() => o.capture!(undefined)));
    // The client may have left while the gateway checked its token and limits.
    if (gone(req, res)) {
      count("client_gone");
      o.capture!(undefined);
      return;
    }
    const wanted = options_.capture !== undefined;
    if (!hasBody(req) || o.body === "stream") {
      dispatch(req, res, o, hasBody(req) ? "stream" : null, wanted);
      return;
    }
    readBody(req, o.bodyLimit, options.bodyIdleMs).then(
      (body) => dispatch(req, res, o, body, wanted),
      (err: unknown) => {
        o.capture!(undefined);
        clientFault(req, res, err, o.bodyLimit);
      },
    );
  }

  function clientFault(req: IncomingMessage, res: ServerResponse, err: unknown, limit: number): void {
    if (err instanceof ClientFault) {
      count(err.outcome);
      res.setHeader("Connection", "close");
      sendProblem(
        req,
        res,
        err.outcome === "too_large" ? contentTooLarge(limit) : requestTimeout(options.bodyIdleMs),
      );
      return;
    }
    count("client_gone");
    res.destroy();
  }

  function dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    o: ForwardOptions,
    body: Buffer | "stream" | null,
    wanted: boolean,
  ): void {
    if (gone(req, res)) {
      count("client_gone");
      o.capture!(undefined);
      return;
    }
    if (!breaker.tryAcquire()) {
      count("circuit_open");
      o.capture!(undefined);
      sendProblem(req, res, circuitOpen());
      return;
    }
    const abort = new AbortController();
    let state: "sending" | "waiting" | "answered" | "timeout" | "client_gone" | "done" = "sending";
    let timer: NodeJS.Timeout | undefined;
    const startClock = () => {
      if (state !== "sending") return;
      state = "waiting";
      timer = setTimeout(() => {
        if (state !== "waiting") return;
        state = "timeout";
        abort.abort();
      }, o.timeoutMs);
    };
    let clientLeft = false;
    const onClose = () => {
      if (state === "done" || res.writableFinished) return;
      clientLeft = true;
      if (state === "sending" || state === "waiting") state = "client_gone";
      abort.abort();
    };
    res.once("close", onClose);

    let requestBody: Buffer | Transform | null = null;
    let clientFaultSeen: ClientFault | undefined;
    if (body === "stream") {
      const counter = countingStream(o.bodyLimit, options.bodyIdleMs, startClock);
      counter.on("error", (err) => {
        if (err instanceof ClientFault) clientFaultSeen = err;
      });
      req.on("error", () => counter.destroy());
      req.pipe(counter);
      requestBody = counter;
    } else {
      requestBody = body;
    }

    pool
      .request({
        path: o.path,
        method: req.method as "GET",
        headers: upstreamHeaders(req, body === "stream", options.clientOf(req)),
        body: requestBody,
        signal: abort.signal,
        headersTimeout: 0,
        // A response that goes silent this long mid-stream is cut.
        bodyTimeout: o.timeoutMs,
      })
      .then(
        (answer) => {
          clearTimeout(timer);
          if (state === "timeout" || state === "client_gone") {
            answer.body.destroy();
            o.capture!(undefined);
            return;
          }
          state = "answered";
          breaker.success();
          count("answered");
          o.onStatus?.(answer.statusCode);
          res.statusCode = answer.statusCode;
          const headers: Record<string, string | string[]> = {};
          for (const key in answer.headers) {
            const value = answer.headers[key];
            if (value === undefined || (HOP_BY_HOP.has(key) && key !== "content-length")) continue;
            headers[key] = value;
            res.setHeader(key, value);
          }
          // Requests waiting on this answer must not wait on this client's reading speed for one
          // they cannot use: an answer the capturer will not keep releases them at once.
          const keep = wanted && (o.keep?.(answer.statusCode, headers) ?? true);
          if (wanted && !keep) o.capture!(undefined);
          let captured: Buffer[] | undefined = keep ? [] : undefined;
          let capturedBytes = 0;
          if (captured) {
            answer.body.on("data", (chunk: Buffer) => {
              capturedBytes += chunk.length;
              if (capturedBytes <= CAPTURE_LIMIT) captured?.push(chunk);
              else if (captured) {
                captured = undefined;
                o.capture!(undefined);
              }
            });
          }
          // Bound to this request's context: the callback runs from the event of whichever stream
          // ends first, and the upstream socket's events run in the context of the request that
          // opened the pooled connection, whose trace the "cut off" warning would otherwise name.
          const ended = AsyncResource.bind((err: NodeJS.ErrnoException | null) => {
            state = "done";
            if (err) {
              if (!res.writableFinished) res.destroy();
              o.capture!(undefined);
              if (clientLeft) return;
              // The service broke its answer off or went silent mid-way (bodyTimeout): its fault.
              breaker.failure();
              count("broken");
              logger.warn(
                {
                  upstream: name,
                  err: (err as { code?: string }).code ?? err.message,
                  requestId: req.headers["x-request-id"],
                },
                "upstream answer cut off",
              );
              return;
            }
            o.capture!(
              captured
                ? { status: answer.statusCode, headers, body: Buffer.concat(captured, capturedBytes) }
                : undefined,
            );
          });
          pipeline(answer.body, res, ended);
        },
        (err: Error & { code?: string }) => {
          clearTimeout(timer);
          const was = state;
          state = "done";
          o.capture!(undefined);
          if (was === "client_gone") {
            breaker.release();
            count("client_gone");
            return;
          }
          if (clientFaultSeen) {
            breaker.release();
            clientFault(req, res, clientFaultSeen, o.bodyLimit);
            return;
          }
          if (was === "timeout") {
            breaker.failure();
            count("timeout");
            logger.warn(
              { upstream: name, timeoutMs: o.timeoutMs, requestId: req.headers["x-request-id"] },
              "upstream timed out",
            );
            sendProblem(
              req,
              res,
              gatewayTimeout(`The ${name} service did not answer within ${seconds(o.timeoutMs)}`),
            );
            return;
          }
          if (gone(req, res)) {
            breaker.release();
            count("client_gone");
            return;
          }
          const code = err.code ?? "";
          const causeCode = (err.cause as { code?: string } | undefined)?.code ?? "";
          breaker.failure();
          count(REFUSED.has(code) || REFUSED.has(causeCode) ? "refused" : "broken");
          logger.warn(
            { upstream: name, err: causeCode || code || err.message, requestId: req.headers["x-request-id"] },
            "upstream failed",
          );
          sendProblem(req, res, badGateway(`The ${name} service could not be reached`));
        },
      );
    // A body read whole (or none) is sent at once: the clock starts now.
    if (body !== "stream") startClock();
  }

  function upgrade(req: IncomingMessage, socket: Socket, head: Buffer, path: string, timeoutMs: number) {
    if (!breaker.tryAcquire()) {
      count("circuit_open");
      writeSocketProblem(socket, req.url, circuitOpen());
      return;
    }
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, timeoutMs);
    const onClose = () => abort.abort();
    socket.once("close", onClose);
    const headers = upstreamHeaders(req, false, options.clientOf(req));
    delete headers["sec-websocket-key"];
    pool
      .upgrade({
        path,
        method: "GET",
        protocol: "websocket",
        headers: { ...headers, "sec-websocket-key": String(req.headers["sec-websocket-key"] ?? "") },
        signal: abort.signal,
      })
      .then(
        ({ headers: answer, socket: upstream }) => {
          clearTimeout(timer);
          socket.off("close", onClose);
          breaker.success();
          count("answered");
          if (socket.destroyed) {
            upstream.destroy();
            return;
          }
          const lines = ["HTTP/1.1 101 Switching Protocols"];
          for (const [key, value] of Object.entries(answer)) {
            if (value === undefined) continue;
            for (const v of Array.isArray(value) ? value : [value]) lines.push(`${key}: ${v}`);
          }
          socket.write(`${lines.join("\r\n")}\r\n\r\n`);
          if (head.length) upstream.write(head);
          upstream.on("error", () => socket.destroy());
          socket.on("error", () => upstream.destroy());
          upstream.pipe(socket).pipe(upstream);
          socket.on("close", () => upstream.destroy());
          upstream.on("close", () => socket.destroy());
        },
        (err: Error & { code?: string }) => {
          clearTimeout(timer);
          socket.off("close", onClose);
          if (socket.destroyed && !timedOut) {
            breaker.release();
            count("client_gone");
            return;
          }
          if (timedOut) {
            breaker.failure();
            count("timeout");
            writeSocketProblem(
              socket,
              req.url,
              gatewayTimeout(`The ${name} service did not answer within ${seconds(timeoutMs)}`),
            );
            return;
          }
          const code = err.code ?? (err.cause as { code?: string } | undefined)?.code ?? "";
          breaker.failure();
          count(REFUSED.has(code) ? "refused" : "broken");
          logger.warn({ upstream: name, err: code || err.message }, "upgrade failed");
          writeSocketProblem(socket, req.url, badGateway(`The ${name} service could not be reached`));
        },
      );
  }

  return { name, breaker, forward, upgrade, close: () => pool.close() };
}
