import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger, TokenVerifier } from "@shopstream/runtime";
import { badRequest, notFound, serviceUnavailable, tooManyRequests, unauthorized } from "@shopstream/runtime";
import cors from "cors";
import express, {
  type Express,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from "express";
import { bearerOf, checkToken, type TokenCheck } from "../../domain/access.js";
import type { BucketState, RateLimits } from "../../domain/ports.js";
import {
  API_PREFIXES,
  type Bucket,
  checkPath,
  type RoutePolicy,
  type RouteTimeout,
  resolveRoute,
  type Upstream,
} from "../../domain/routes.js";
import type { CatalogCache } from "./catalog-cache.js";
import { contentTooLarge } from "./problems.js";
import type { ForwardOptions, UpstreamProxy } from "./proxy.js";

export interface ApiDeps {
  verifier: TokenVerifier;
  rateLimits: RateLimits;
  proxies: Record<Upstream, UpstreamProxy>;
  /** Catalog reads answered by this gateway while the product service says they are fresh. */
  catalog: CatalogCache;
  corsOrigins: string[];
  bodyLimits: { json: number; upload: number };
  timeouts: Record<RouteTimeout, number>;
  logger: Logger;
}

/** How the proxy forwards a request the route table resolved. */
export function forwardOptions(
  deps: Pick<ApiDeps, "bodyLimits" | "timeouts">,
  route: RoutePolicy,
  url: string,
): ForwardOptions {
  return {
    // The service serves its routes without `/api`; the query goes along.
    path: url.slice("/api".length),
    bodyLimit: route.body === "upload" ? deps.bodyLimits.upload : deps.bodyLimits.json,
    body: route.body === "upload" ? "stream" : "buffer",
    timeoutMs: deps.timeouts[route.timeout],
  };
}

/**
 * Sends a request the gateway admitted to its service: catalog reads through the cache, and any
 * change to the catalog empties the cache as soon as its answer arrives, so the writer's next
 * read (through this replica) sees it even before the service's announcement does.
 */
export function dispatch(
  deps: Pick<ApiDeps, "proxies" | "catalog">,
  req: IncomingMessage,
  res: ServerResponse,
  route: RoutePolicy,
  options: ForwardOptions,
): void {
  if (route.upstream !== "product") deps.proxies[route.upstream].forward(req, res, options);
  else if (req.method === "GET" || req.method === "HEAD") deps.catalog.serve(req, res, options);
  else deps.proxies.product.forward(req, res, { ...options, onStatus: () => deps.catalog.clear() });
}

/** `RateLimit-Policy` and `RateLimit` (IETF draft-ietf-httpapi-ratelimit-headers), one item per bucket. */
export function rateLimitHeaders(buckets: BucketState[]): Record<string, string> {
  return {
    "RateLimit-Policy": buckets.map((b) => `"${b.name}";q=${b.limit};w=${b.windowSeconds}`).join(", "),
    RateLimit: buckets.map((b) => `"${b.name}";r=${b.remaining};t=${b.resetSeconds}`).join(", "),
  };
}

/** The client's address: `req.ip` honours X-Forwarded-For only from trusted (private) hops. */
export const clientAddress = (req: Request) => req.ip ?? req.socket.remoteAddress ?? "unknown";

export function corsMiddleware(origins: string[]): RequestHandler {
  const any = origins.includes("*");
  const allowed = new Set(origins);
  return cors({
    origin: (origin, done) => done(null, origin !== undefined && (any || allowed.has(origin))),
    // Tokens travel in Authorization, never in cookies: no credentials, so `*`-like answers are safe.
    credentials: false,
    methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowedHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
    exposedHeaders: ["X-Request-Id", "Location", "Retry-After", "RateLimit", "RateLimit-Policy"],
    maxAge: 600,
  });
}

/** Headers every API answer carries; an upstream's own (say an image's CSP) replaces them. */
export function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  res.setHeader("X-Frame-Options", "DENY");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("Cache-Control", "no-store");
}

export const apiSecurityHeaders: RequestHandler = (_req, res, next) => {
  setSecurityHeaders(res);
  next();
};

/** Dot segments, encoded separators and `/internal/` never reach a service. */
const guardPath: RequestHandler = (req, _res, next) => {
  const verdict = checkPath(req.path);
  if (verdict.ok) return next();
  if (verdict.reason === "internal")
    return next(notFound(`No route for ${req.method} ${req.originalUrl.split("?")[0]}`));
  next(badRequest("The request path is not in canonical form"));
};

/**
 * `/api/*`: CORS; then for every request the token is read and the rate limits counted (so every
 * answer, a 404 included, carries the RateLimit headers); then the path guard, the route's
 * policy, the body limit by Content-Length, the token verdict, and finally the proxy.
 */
export function apiRoutes(app: Express, deps: ApiDeps): void {
  const { verifier, rateLimits } = deps;

  const admit = async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get("authorization");
    const token = await checkToken(verifier, header === undefined ? undefined : bearerOf(header));
    res.locals.token = token;
    if (token.kind === "valid") res.locals.user = token.user;

    const address = clientAddress(req);
    const draws: { bucket: Bucket; key: string }[] = [
      { bucket: "api", key: token.kind === "valid" ? `user:${token.user.id}` : `ip:${address}` },
      ...(resolveRoute(req.method, req.path)?.buckets ?? []).map((bucket) => ({
        bucket,
        key: `ip:${address}`,
      })),
    ];
    const decision = await rateLimits.take(draws);
    if (decision.kind !== "unknown") res.set(rateLimitHeaders(decision.buckets));
    if (decision.kind === "limited") {
      throw tooManyRequests("Too many requests; slow down and retry later", decision.retryAfterSeconds);
    }
    next();
  };

  const forward = (req: Request, res: Response) => {
    const route = resolveRoute(req.method, req.path);
    if (!route) throw notFound(`No route for ${req.method} ${req.originalUrl.split("?")[0]}`);
    const options = forwardOptions(deps, route, req.originalUrl);
    const declared = Number(req.get("content-length") ?? 0);
    if (declared > options.bodyLimit) {
      // The body is not read: close the connection rather than drain megabytes for nothing.
      res.setHeader("Connection", "close");
      throw contentTooLarge(options.bodyLimit);
    }

    const token = res.locals.token as TokenCheck;
    if (token.kind === "invalid") throw unauthorized("The access token is invalid or expired");
    if (token.kind === "unverifiable") {
      deps.logger.warn({ err: token.reason }, "cannot fetch the token keys (JWKS)");
      throw serviceUnavailable("Access tokens cannot be checked right now; try again shortly");
    }
    if (route.access === "user" && token.kind !== "valid") throw unauthorized();

    dispatch(deps, req, res, route, options);
  };

  const router = express.Router();
  router.use(admit, guardPath);
  // A route per prefix, so the request histogram is labelled by service (`/api/cart{/*rest}`).
  for (const prefix of API_PREFIXES) router.all(`/${prefix}{/*rest}`, forward);
  app.use("/api", apiSecurityHeaders, corsMiddleware(deps.corsOrigins), router);
}
