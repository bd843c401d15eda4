import { commonEnv, env, redisEnv, tokenEnv } from "@shopstream/runtime";
import { z } from "zod";

/** An empty variable counts as unset: the platform renders only what a target configures. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

const MiB = 1024 * 1024;

export const configSchema = z.object({
  ...commonEnv,
  ...redisEnv,
  ...tokenEnv,
  /**
   * The catalog cache's Redis, where the product service announces its changes (a
   * subscribe-only user); the channel is under REDIS_KEY_PREFIX too. Connected in the
   * background: the gateway starts and stays ready without it.
   */
  CATALOG_REDIS_URL: env.url(),
  CATALOG_REDIS_USERNAME: z.string().min(1).optional(),
  CATALOG_REDIS_PASSWORD: z.string().optional(),
  PORT: env.port(),
  AUTH_URL: env.url(),
  PRODUCT_URL: env.url(),
  CART_URL: env.url(),
  ORDER_URL: env.url(),
  NOTIFICATION_URL: env.url(),
  ANALYTICS_URL: env.url(),
  /** Browser origins allowed to call the API (comma-separated; `*` for any). */
  CORS_ORIGINS: env.list(true),
  /**
   * How long a service may take, once the request is fully sent, to start its answer (and may stay
   * silent while streaming one) before a 504. Counts against its circuit.
   */
  UPSTREAM_TIMEOUT_MS: env.int(50, 300_000),
  /**
   * The same for a checkout (POST /api/orders), whose worst case is the order service's own: its
   * Idempotency-Key and lease waits plus its calls to cart and product. The model derives it from
   * the order service's settings.
   */
  CHECKOUT_TIMEOUT_MS: env.int(50, 300_000),
  /** A request body that sends nothing for this long gets a 408; the service never sees it. */
  BODY_IDLE_TIMEOUT_MS: env.int(50, 300_000, 10_000),
  /** Keep-alive connections per upstream service. */
  UPSTREAM_CONNECTIONS: env.int(1, 1024, 64),
  /**
   * Longest a catalog answer the product service marks shareable (`s-maxage`) is reused by this
   * gateway; every product change empties it at once. 0 turns the cache off.
   */
  CATALOG_CACHE_MAX_MS: env.int(0, 60_000, 1000),
  /** Requests per window per signed-in user, or per client address when anonymous. */
  RATE_LIMIT_PER_MINUTE: env.int(1, 1_000_000),
  /** The stricter bucket of `/api/auth/*` (sign-up, sign-in, refresh), per client address. */
  AUTH_RATE_LIMIT_PER_MINUTE: env.int(1, 1_000_000, 60),
  /** Length of a rate-limit window; the `_PER_MINUTE` limits apply per window. */
  RATE_LIMIT_WINDOW_SECONDS: env.int(1, 3600, 60),
  /** A rate-limit lookup slower than this is skipped (fail open) rather than delaying the request. */
  RATE_LIMIT_TIMEOUT_MS: env.int(10, 10_000, 250),
  /** Largest request body of an ordinary (JSON) request. */
  BODY_LIMIT_BYTES: env.int(1024, 100 * MiB, MiB),
  /** Largest request body of a product image upload. */
  UPLOAD_LIMIT_BYTES: env.int(1024, 100 * MiB, 6 * MiB),
  /** Consecutive transport failures of one upstream that open its circuit (fast 503s). */
  CIRCUIT_FAILURE_THRESHOLD: env.int(1, 1000, 5),
  /** How long an open circuit answers 503 before probes may try the upstream again. */
  CIRCUIT_OPEN_MS: env.int(100, 600_000, 5000),
  /** Requests let through at once to probe an upstream whose circuit is half-open. */
  CIRCUIT_HALF_OPEN_PROBES: env.int(1, 100, 3),
  /** Local run only: the built storefront, served with an index.html fallback. */
  STOREFRONT_DIR: optional(z.string().min(1)),
});

export type GatewayConfig = z.output<typeof configSchema>;
