import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  HttpError,
  type Logger,
  type Metrics,
  observeRequest,
  tooManyRequests,
  traceRequest,
} from "@shopstream/runtime";
import type { RateLimits } from "../../domain/ports.js";
import { checkPath, resolveRoute } from "../../domain/routes.js";
import {
  type ApiDeps,
  dispatch,
  forwardOptions,
  rateLimitHeaders,
  setSecurityHeaders,
} from "./api-routes.js";
import { sendProblem } from "./problems.js";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** The route Express gives the same requests, so both paths count (and are named) as one. */
const ROUTE_NAME = "/api/products{/*rest}";
const ROUTE = () => ROUTE_NAME;

/**
 * Anonymous catalog reads (`GET|HEAD /api/products`, `/api/products/:id`, `/api/products/categories`
 * without a token, a body or an Origin) are decided here, before Express: request id, security
 * headers, the `api` rate limit, then the catalog cache or the product service. They get exactly
 * what the Express path would give them (same headers, limits, log line and metrics) without its
 * routing, middleware chain and request decoration. Anything else goes to Express unchanged.
 * They skip the HTTP instrumentation as well: each gets its SERVER span from `traceRequest`,
 * which costs a sampling decision and two ids unless the span is recorded.
 */
export function catalogHotPath(
  deps: Pick<ApiDeps, "proxies" | "catalog" | "bodyLimits" | "timeouts"> & {
    rateLimits: RateLimits;
    logger: Logger;
    metrics: Metrics;
    /** The client's address, as Express's `req.ip` would give it (TRUST_PROXY). */
    clientOf: (req: IncomingMessage) => string;
  },
): { claims(req: IncomingMessage): boolean; handle(req: IncomingMessage, res: ServerResponse): void } {
  const { logger, metrics, rateLimits } = deps;

  const eligible = (req: IncomingMessage): boolean => {
    const url = req.url ?? "";
    if (!url.startsWith("/api/products") || (req.method !== "GET" && req.method !== "HEAD")) return false;
    const h = req.headers;
    if (h.authorization !== undefined || h.origin !== undefined) return false;
    if (h["transfer-encoding"] !== undefined || (h["content-length"] ?? "0") !== "0") return false;
    const path = url.split("?", 1)[0]!;
    const verdict = checkPath(path);
    // ["api", "products"] or ["api", "products", ":id" | "categories"]; images stay on Express.
    return verdict.ok && verdict.segments.length <= 3 && verdict.segments[1] === "products";
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const traced = traceRequest(req, res, ROUTE_NAME, "gateway");
    const incoming = req.headers["x-request-id"];
    const requestId = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.headers["x-request-id"] = requestId;
    res.setHeader("X-Request-Id", requestId);
    observeRequest(logger, metrics, req, res, ROUTE, traced.fields);
    setSecurityHeaders(res);

    const url = req.url!;
    const route = resolveRoute(req.method!, url.slice("/api".length).split("?", 1)[0]!)!;
    // The whole read in its span's context, from the rate-limit lookup on: the lines it logs (a
    // Redis outage's warning) carry this request's ids, as they do on the Express path.
    traced.run(() =>
      rateLimits
        .take([{ bucket: "api", key: `ip:${deps.clientOf(req)}` }])
        .then((decision) => {
          if (decision.kind !== "unknown") {
            const headers = rateLimitHeaders(decision.buckets);
            res.setHeader("RateLimit-Policy", headers["RateLimit-Policy"]!);
            res.setHeader("RateLimit", headers.RateLimit!);
          }
          if (decision.kind === "limited") {
            sendProblem(
              req,
              res,
              tooManyRequests("Too many requests; slow down and retry later", decision.retryAfterSeconds),
            );
            return;
          }
          dispatch(deps, req, res, route, forwardOptions(deps, route, url));
        })
        .catch((err: unknown) => {
          logger.error({ err, requestId }, "catalog hot path failed");
          sendProblem(
            req,
            res,
            new HttpError(500, "Internal Server Error", "Something went wrong on our side"),
          );
        }),
    );
  };
  return { claims: eligible, handle };
}
