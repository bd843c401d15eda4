import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError, type Logger, type Metrics, observeRequest, tooManyRequests } from "@shopstream/runtime";
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
/** The histogram label Express gives the same requests, so both paths count as one route. */
const ROUTE = () => "/api/products{/*rest}";

/**
 * Anonymous catalog reads (`GET|HEAD /api/products`, `/api/products/:id`, `/api/products/categories`
 * without a token, a body or an Origin) are decided here, before Express: request id, security
 * headers, the `api` rate limit, then the catalog cache or the product service. They get exactly
 * what the Express path would give them (same headers, limits, log line and metrics) without its
 * routing, middleware chain and request decoration. Anything else goes to Express unchanged.
 */
export function catalogHotPath(
  deps: Pick<ApiDeps, "proxies" | "catalog" | "bodyLimits" | "timeouts"> & {
    rateLimits: RateLimits;
    logger: Logger;
    metrics: Metrics;
    /** The client's address, as Express's `req.ip` would give it (TRUST_PROXY). */
    clientOf: (req: IncomingMessage) => string;
  },
): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
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

  return (req, res, next) => {
    if (!eligible(req)) return next();
    const incoming = req.headers["x-request-id"];
    const requestId = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.headers["x-request-id"] = requestId;
    res.setHeader("X-Request-Id", requestId);
    observeRequest(logger, metrics, req, res, ROUTE);
    setSecurityHeaders(res);

    const url = req.url!;
    const route = resolveRoute(req.method!, url.slice("/api".length).split("?", 1)[0]!)!;
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
      });
  };
}
