import type { ClientRequest, IncomingMessage } from "node:http";
import { Agent as HttpAgent } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "@shopstream/runtime";
import type { Request, Response } from "express";
import { createProxyMiddleware } from "http-proxy-middleware";
import type { CircuitBreaker } from "../../domain/circuit-breaker.js";
import type { Upstream } from "../../domain/routes.js";
import {
  badGateway,
  contentTooLarge,
  gatewayTimeout,
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
  | "circuit_open"
  | "client_gone";

export interface UpstreamProxy {
  name: Upstream;
  breaker: CircuitBreaker;
  /** Streams the request to the upstream (req.url is already relative to the service) and back. */
  forward(req: Request, res: Response, bodyLimit: number): void;
  /** Proxies an authorised WebSocket upgrade; req.url is relative to the service. */
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
}

/** What the gateway knows about one request while it is with the upstream. */
interface Exchange {
  bodyLimit: number;
  bytes: number;
  timer?: NodeJS.Timeout;
  proxyReq?: ClientRequest;
  /** Set once: the first thing that decided how this exchange ends. */
  outcome?: ProxyOutcome;
  /** The circuit was told how this attempt went (or that it told nothing). */
  settled: boolean;
}

const REFUSED = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * One upstream service behind http-proxy-middleware: bodies stream through unparsed, counted
 * against a limit (413); no answer within `timeoutMs` is a 504, a refused or broken connection a
 * 502, an open circuit a fast 503, all as problem+json. The gateway never waits on a service
 * longer than the timeout, however the service misbehaves.
 */
export function createUpstreamProxy(options: {
  name: Upstream;
  target: string;
  timeoutMs: number;
  breaker: CircuitBreaker;
  logger: Logger;
  outcomes: { inc(labels: { upstream: string; outcome: ProxyOutcome }): void };
}): UpstreamProxy {
  const { name, timeoutMs, breaker, logger } = options;
  const exchanges = new WeakMap<IncomingMessage, Exchange>();
  const seconds = `${(timeoutMs / 1000).toLocaleString("en", { maximumFractionDigits: 3 })} s`;

  const settle = (ex: Exchange, how: "success" | "failure" | "release") => {
    if (ex.settled) return;
    ex.settled = true;
    clearTimeout(ex.timer);
    if (how === "success") breaker.success();
    else if (how === "failure") breaker.failure();
    else breaker.release();
  };
  const finish = (ex: Exchange, outcome: ProxyOutcome): boolean => {
    if (ex.outcome) return false;
    ex.outcome = outcome;
    options.outcomes.inc({ upstream: name, outcome });
    return true;
  };
  const requestIdOf = (req: IncomingMessage) => req.headers["x-request-id"];
  const upstreamAgent = new HttpAgent({
    keepAlive: true,
    maxSockets: 256,
    maxFreeSockets: 64,
    timeout: 60_000,
  });

  const proxy = createProxyMiddleware<Request, Response>({
    target: options.target,
    // Reused connections: a new TCP handshake per proxied request cost half the throughput.
    agent: upstreamAgent,
    changeOrigin: true,
    // Appends the client to X-Forwarded-For (and sets -Proto, -Host, -Port) for the service.
    xfwd: true,
    on: {
      start(req, res) {
        // The services trust the gateway alone: it tells them the client it determined (req.ip,
        // from the edge's header when the edge connected), not the chain a client may have sent.
        // (xfwd appended the peer already; the upstream request is built from these headers next.)
        req.headers["x-forwarded-for"] = req.ip ?? req.socket.remoteAddress ?? "";
        const ex = exchanges.get(req);
        if (!ex) return;
        // Registered before http-proxy pipes the body, so every chunk is counted. Content-Length
        // was checked already; this catches chunked bodies that grow past the limit.
        const count = (chunk: Buffer) => {
          ex.bytes += chunk.length;
          // A body still moving means the upstream is reading it: the timeout measures silence,
          // so a slow upload of a large image is not mistaken for a dead service.
          if (!ex.settled) ex.timer?.refresh();
          if (ex.bytes <= ex.bodyLimit || ex.outcome) return;
          req.off("data", count);
          req.unpipe();
          finish(ex, "too_large");
          settle(ex, "release");
          ex.proxyReq?.destroy();
          if (res.headersSent) return;
          res.setHeader("Connection", "close");
          sendProblem(req, res, contentTooLarge(ex.bodyLimit));
        };
        req.on("data", count);
      },
      proxyReq(proxyReq, req) {
        const ex = exchanges.get(req);
        if (!ex) return;
        ex.proxyReq = proxyReq;
        if (ex.outcome) proxyReq.destroy();
      },
      proxyRes(proxyRes, req, res) {
        const ex = exchanges.get(req);
        if (!ex) return;
        if (ex.outcome) {
          // Already answered (413 or 504): whatever the upstream says now is not forwarded.
          proxyRes.destroy();
          return;
        }
        finish(ex, "answered");
        settle(ex, "success");
        // A stream that goes quiet for the whole timeout is cut rather than held open forever.
        const idle = setTimeout(() => {
          ex.outcome = "timeout";
          logger.warn({ upstream: name, requestId: requestIdOf(req) }, "upstream went silent mid-response");
          proxyRes.destroy();
          res.destroy();
        }, timeoutMs);
        proxyRes.on("data", () => idle.refresh());
        proxyRes.on("close", () => clearTimeout(idle));
      },
      error(err, req, res) {
        const code = (err as NodeJS.ErrnoException).code;
        if (!isResponse(res)) {
          upgradeFailed(req, res, err);
          return;
        }
        const ex = exchanges.get(req);
        if (!ex) {
          sendProblem(req, res, badGateway(`The ${name} service could not be reached`));
          return;
        }
        if (ex.outcome === "too_large") return;
        if (ex.outcome === "timeout") {
          settle(ex, "failure");
          sendProblemOnce(req, res, gatewayTimeout(`The ${name} service did not answer within ${seconds}`));
          return;
        }
        if (res.headersSent) {
          // The answer had begun: all that is left is to cut it, so the client sees it is broken.
          finish(ex, "broken");
          settle(ex, "failure");
          res.destroy();
          return;
        }
        if (req.socket.destroyed || res.destroyed) {
          finish(ex, "client_gone");
          settle(ex, "release");
          return;
        }
        finish(ex, REFUSED.has(code ?? "") ? "refused" : "broken");
        settle(ex, "failure");
        logger.warn(
          { upstream: name, err: code ?? err.message, requestId: requestIdOf(req) },
          "upstream failed",
        );
        sendProblem(req, res, badGateway(`The ${name} service could not be reached`));
      },
      econnreset(_err, req) {
        const ex = exchanges.get(req);
        if (ex) {
          finish(ex, "client_gone");
          settle(ex, "release");
        }
      },
      proxyReqWs(proxyReq, req) {
        const ex = exchanges.get(req);
        if (!ex) return;
        ex.proxyReq = proxyReq;
        if (ex.outcome) proxyReq.destroy();
        const answered = () => {
          finish(ex, "answered");
          settle(ex, "success");
        };
        proxyReq.on("upgrade", answered);
        proxyReq.on("response", answered);
      },
    },
  });

  // A 504 may already have gone out from the timer when the destroyed request reports its error.
  const sendProblemOnce = (req: Request, res: Response, problem: ReturnType<typeof gatewayTimeout>) => {
    if (!res.headersSent) sendProblem(req, res, problem);
  };

  const upgradeFailed = (req: IncomingMessage, socket: Socket, err: Error) => {
    const ex = exchanges.get(req);
    // The 504 went out from the timer already.
    if (ex?.outcome === "timeout") return;
    if (ex?.outcome) {
      // Upgraded (or abandoned) already: the socket carries WebSocket frames now, not HTTP.
      socket.destroy();
      return;
    }
    if (ex) {
      finish(ex, REFUSED.has((err as NodeJS.ErrnoException).code ?? "") ? "refused" : "broken");
      settle(ex, "failure");
    }
    logger.warn(
      { upstream: name, err: (err as NodeJS.ErrnoException).code ?? err.message },
      "upgrade failed",
    );
    writeSocketProblem(socket, req.url, badGateway(`The ${name} service could not be reached`));
  };

  const open = (req: IncomingMessage, bodyLimit: number, onTimeout: (ex: Exchange) => void): Exchange => {
    const ex: Exchange = { bodyLimit, bytes: 0, settled: false };
    exchanges.set(req, ex);
    ex.timer = setTimeout(() => {
      if (!finish(ex, "timeout")) return;
      logger.warn({ upstream: name, timeoutMs, requestId: requestIdOf(req) }, "upstream timed out");
      settle(ex, "failure");
      onTimeout(ex);
    }, timeoutMs);
    return ex;
  };

  const circuitOpen = () =>
    upstreamUnavailable(
      `The ${name} service is unavailable right now; try again shortly`,
      Math.ceil(breaker.retryInMs() / 1000),
    );

  return {
    name,
    breaker,
    forward(req, res, bodyLimit) {
      if (!breaker.tryAcquire()) {
        options.outcomes.inc({ upstream: name, outcome: "circuit_open" });
        sendProblem(req, res, circuitOpen());
        return;
      }
      // Node answers `Expect: 100-continue` itself; passing it on would make the upstream wait too.
      delete req.headers.expect;
      const ex = open(req, bodyLimit, () => {
        sendProblemOnce(req, res, gatewayTimeout(`The ${name} service did not answer within ${seconds}`));
        ex.proxyReq?.destroy();
      });
      res.on("close", () => {
        clearTimeout(ex.timer);
        if (!res.writableFinished && !ex.outcome) {
          // The client went away first: stop the upstream work too.
          finish(ex, "client_gone");
          settle(ex, "release");
          ex.proxyReq?.destroy();
        }
      });
      void proxy(req, res);
    },
    upgrade(req, socket, head) {
      if (!breaker.tryAcquire()) {
        options.outcomes.inc({ upstream: name, outcome: "circuit_open" });
        writeSocketProblem(socket, req.url, circuitOpen());
        return;
      }
      const ex = open(req, 0, () => {
        writeSocketProblem(
          socket,
          req.url,
          gatewayTimeout(`The ${name} service did not answer within ${seconds}`),
        );
        ex.proxyReq?.destroy();
      });
      socket.on("close", () => {
        clearTimeout(ex.timer);
        if (!ex.outcome) {
          finish(ex, "client_gone");
          settle(ex, "release");
          ex.proxyReq?.destroy();
        }
      });
      proxy.upgrade(req, socket, head);
    },
  };
}

function isResponse(res: unknown): res is Response {
  return typeof (res as Response | undefined)?.writeHead === "function";
}
