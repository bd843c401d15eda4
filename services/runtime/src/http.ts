import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Router } from "express";
import { forbidden, HttpError, notFound, problemBody } from "./errors.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import { isStoreUnavailable } from "./store-unavailable.js";
import { trustedProxies } from "./trust-proxy.js";

/** A named dependency check for `/ready`: resolves when the dependency answers. */
export type ReadinessCheck = () => Promise<unknown>;

/** Each check's outcome: `ok`, or why it failed; a check slower than `timeoutMs` fails. */
export async function runChecks(
  checks: Record<string, ReadinessCheck>,
  timeoutMs: number,
): Promise<Record<string, string>> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await withTimeout(check(), timeoutMs, name);
        return [name, "ok"] as const;
      } catch (err) {
        return [name, (err as Error).message || "failed"] as const;
      }
    }),
  );
  return Object.fromEntries(results);
}

export interface HttpAppOptions {
  name: string;
  logger: Logger;
  metrics: Metrics;
  /** What the service cannot answer without: `/ready` fails while one of them does. */
  readiness: Record<string, ReadinessCheck>;
  /**
   * What the service answers without, worse (a cache, a broker it retries, an optional backend):
   * shown in `/health` and as `shopstream_dependency_up`, never in `/ready`, so an outage of one
   * of them does not take every replica out of its load balancer at once (docs/faults.md).
   */
  degradable?: Record<string, ReadinessCheck>;
  /** Mounts the service's own routes. */
  routes: (app: Express) => void;
  /** JSON body limit, e.g. "100kb". */
  bodyLimit?: string;
  /** Set to false for services that parse bodies themselves (the gateway proxies raw bodies). */
  parseJson?: boolean;
  /**
   * Guards `/internal/*` before any route of the service (./service-tokens.ts); without it every
   * internal request is refused.
   */
  internal?: RequestHandler;
  /** Who may set X-Forwarded-*; defaults to TRUST_PROXY (./trust-proxy.ts). */
  trustProxy?: boolean | number | string | ((address: string, hop: number) => boolean);
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The user id the auth middleware found, for logs. */
export function userIdOf(res: express.Response): string | undefined {
  return (res.locals.user as { id?: string } | undefined)?.id;
}

/** `X-Request-Id` is taken from the caller when well-formed, otherwise created, and echoed back. */
export const requestId: RequestHandler = (req, res, next) => {
  const incoming = req.get("x-request-id");
  const id = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.locals.requestId = id;
  req.headers["x-request-id"] = id;
  res.setHeader("X-Request-Id", id);
  next();
};

const QUIET = new Set(["/health", "/ready", "/metrics"]);

// Request lines are built from known fields only (no headers, no query, no body), so they skip
// the logger's redaction, which cost two to three times the line itself.
const requestLoggers = new WeakMap<Logger, Logger>();
const requestLoggerOf = (logger: Logger): Logger => {
  let plain = requestLoggers.get(logger);
  if (!plain) {
    plain = logger.child({}, { redact: { paths: [] } });
    requestLoggers.set(logger, plain);
  }
  return plain;
};

/**
 * One log line and one histogram observation per request, when the answer is finished or the
 * client went away (status 499 in the log, as nginx does, when nothing was answered). Probes and
 * metrics scrapes are left out of the log so they do not flood it. This is the whole per-request
 * logging cost: no child logger and no serialisers run per request.
 */
export function observeRequest(
  logger: Logger,
  metrics: Metrics,
  req: IncomingMessage,
  res: ServerResponse,
  route: () => string,
  /** Fields for the log line that the active context cannot give (`traceRequest`'s ids). */
  fields?: Record<string, string | undefined>,
): void {
  const started = performance.now();
  let done = false;
  const end = () => {
    if (done) return;
    done = true;
    const finished = res.writableFinished;
    const status = finished || res.headersSent ? res.statusCode : 499;
    const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? "";
    const path = stripQuery(url);
    const ms = performance.now() - started;
    metrics.httpDuration.observe(
      { method: req.method ?? "", route: route(), status_code: String(status) },
      ms / 1000,
    );
    if (QUIET.has(path)) return;
    const level = status >= 500 ? "error" : "info";
    if (!logger.isLevelEnabled(level)) return;
    const log = requestLoggerOf(logger);
    const locals = (res as { locals?: { requestId?: string; user?: { id?: string } } }).locals;
    log[level](
      {
        reqId: locals?.requestId ?? req.headers["x-request-id"],
        userId: locals?.user?.id,
        req: { method: req.method, url: path, remoteAddress: req.socket.remoteAddress },
        res: { statusCode: status },
        responseTime: Math.round(ms),
        ...(finished ? {} : { aborted: true }),
        ...fields,
      },
      `${req.method} ${path} ${status}`,
    );
  };
  res.once("finish", end);
  res.once("close", end);
}

export function createHttpApp(options: HttpAppOptions): Express {
  const { logger, metrics } = options;
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", options.trustProxy ?? trustedProxies());
  app.set("etag", false);

  // Probes and metrics stay outside request logging so they do not flood the logs.
  // Liveness: always 200 while the process serves; degraded dependencies are details.
  const degradable = options.degradable ?? {};
  app.get("/health", async (_req, res) => {
    const dependencies = await runChecks(degradable, 1000);
    const degraded = Object.values(dependencies).some((status) => status !== "ok");
    res.json({ status: degraded ? "degraded" : "ok", service: options.name, dependencies });
  });
  app.get("/ready", async (_req, res) => {
    const checks = await runChecks(options.readiness, 2000);
    const failed = Object.values(checks).some((status) => status !== "ok");
    res.status(failed ? 503 : 200).json({ status: failed ? "unavailable" : "ready", checks });
  });
  app.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use(requestId);
  app.use((req, res, next) => {
    observeRequest(logger, metrics, req, res, () =>
      // The route pattern, never the raw URL: ids would explode the label set.
      req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : "unmatched",
    );
    next();
  });
  if (options.parseJson !== false) {
    app.use(express.json({ limit: options.bodyLimit ?? "100kb", strict: true }));
  }

  app.use(
    "/internal",
    options.internal ?? ((_req, _res, next) => next(forbidden("Internal routes are closed"))),
  );
  options.routes(app);

  app.use((req, _res, next) => next(notFound(`No route for ${req.method} ${stripQuery(req.originalUrl)}`)));
  app.use(problemHandler(logger));
  return app;
}

function stripQuery(url: string | undefined): string {
  return (url ?? "").split("?")[0]!;
}

/** Body-parser and our own errors become problem+json; anything else is a logged, generic 500. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const problem = toHttpError(err);
    if (problem.status >= 500 && !(err instanceof HttpError)) {
      logger.error({ err, requestId: res.locals.requestId, userId: userIdOf(res) }, "unhandled error");
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    for (const [k, v] of Object.entries(problem.extra.headers ?? {})) res.setHeader(k, v);
    res
      .status(problem.status)
      .type("application/problem+json")
      .send(JSON.stringify(problemBody(problem, stripQuery(req.originalUrl))));
  };
}

export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const e = err as { type?: string; status?: number; expose?: boolean; message?: string };
  switch (e?.type) {
    case "entity.parse.failed":
      return new HttpError(400, "Malformed JSON", "The request body is not valid JSON");
    case "entity.too.large":
      return new HttpError(413, "Content Too Large", "The request body is too large");
    case "encoding.unsupported":
    case "charset.unsupported":
      return new HttpError(415, "Unsupported Media Type", e.message);
    case "request.aborted":
      return new HttpError(400, "Bad Request", "The request was aborted");
  }
  if (typeof e?.status === "number" && e.status >= 400 && e.status < 500 && e.expose) {
    return new HttpError(e.status, "Bad Request", e.message);
  }
  // A database or Redis that is away is not a bug of ours: the client may retry shortly.
  if (isStoreUnavailable(err)) {
    return new HttpError(503, "Service Unavailable", "A data store is not available; retry shortly", {
      headers: { "Retry-After": "1" },
    });
  }
  return new HttpError(500, "Internal Server Error", "Something went wrong on our side");
}

/** What `withTimeout` rejects with when its time is up. */
export class TimedOutError extends Error {}

/**
 * `promise`, or a `TimedOutError` once `ms` have passed without it settling. The deadline is
 * judged after the event loop's next poll: when the loop was held up past it (a long GC, a busy
 * machine), an answer already waiting on a socket is read first and counts, so only an answer
 * that really did not come in time is taken for late.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let late: NodeJS.Immediate | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          late = setImmediate(() => reject(new TimedOutError(`${what} timed out after ${ms} ms`)));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (late) clearImmediate(late);
  }
}

export type { Router };
