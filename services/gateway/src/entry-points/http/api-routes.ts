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
import type { BucketState, RateLimits } from "../../data-access/rate-limits.js";
import { bearerOf, checkToken, type TokenCheck } from "../../domain/access.js";
import { API_PREFIXES, type Bucket, checkPath, resolveRoute, type Upstream } from "../../domain/routes.js";
import { contentTooLarge } from "./problems.js";
import type { UpstreamProxy } from "./proxy.js";

export interface ApiDeps {
  verifier: TokenVerifier;
  rateLimits: RateLimits;
  proxies: Record<Upstream, UpstreamProxy>;
  corsOrigins: string[];
  bodyLimits: { json: number; upload: number };
  logger: Logger;
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
export const apiSecurityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  res.setHeader("X-Frame-Options", "DENY");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("Cache-Control", "no-store");
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
  const { verifier, rateLimits, proxies, bodyLimits } = deps;

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
    const limit = route.body === "upload" ? bodyLimits.upload : bodyLimits.json;
    const declared = Number(req.get("content-length") ?? 0);
    if (declared > limit) {
      // The body is not read: close the connection rather than drain megabytes for nothing.
      res.setHeader("Connection", "close");
      throw contentTooLarge(limit);
    }

    const token = res.locals.token as TokenCheck;
    if (token.kind === "invalid") throw unauthorized("The access token is invalid or expired");
    if (token.kind === "unverifiable") {
      deps.logger.warn({ err: token.reason }, "cannot fetch the token keys (JWKS)");
      throw serviceUnavailable("Access tokens cannot be checked right now; try again shortly");
    }
    if (route.access === "user" && token.kind !== "valid") throw unauthorized();

    proxies[route.upstream].forward(req, res, limit);
  };

  const router = express.Router();
  router.use(admit, guardPath);
  // A route per prefix, so the request histogram is labelled by service (`/api/cart{/*rest}`).
  for (const prefix of API_PREFIXES) router.all(`/${prefix}{/*rest}`, forward);
  app.use("/api", apiSecurityHeaders, corsMiddleware(deps.corsOrigins), router);
}
