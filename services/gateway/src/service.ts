import type { IncomingMessage } from "node:http";
import {
  clientAddressOf,
  defineService,
  fetchJwks,
  subscribeInBackground,
  trustedProxies,
} from "@shopstream/runtime";
import { configSchema, type GatewayConfig } from "./config.js";
import { createRateLimits } from "./data-access/rate-limits.js";
import { createCircuitBreaker } from "./domain/circuit-breaker.js";
import { UPSTREAMS, type Upstream } from "./domain/routes.js";
import { apiDocsRoutes } from "./entry-points/http/api-docs.js";
import { apiRoutes } from "./entry-points/http/api-routes.js";
import { createCatalogCache } from "./entry-points/http/catalog-cache.js";
import { catalogHotPath } from "./entry-points/http/hot-path.js";
import { createUpstreamProxy, type ProxyOutcome, type UpstreamProxy } from "./entry-points/http/proxy.js";
import { storefrontRoutes } from "./entry-points/http/storefront.js";
import { handleUpgrades } from "./entry-points/http/websocket.js";

/** Where the product service announces catalog changes (docs/service-contracts.md). */
export const CATALOG_CHANGED_CHANNEL = "catalog:changed";

const UPSTREAM_URL: Record<Upstream, keyof GatewayConfig> = {
  auth: "AUTH_URL",
  product: "PRODUCT_URL",
  cart: "CART_URL",
  order: "ORDER_URL",
  notification: "NOTIFICATION_URL",
  analytics: "ANALYTICS_URL",
};

/** The JWKS answers with at least one key: tokens can be verified. */
async function jwksReady(url: string): Promise<void> {
  const res = await fetchJwks(url, { signal: AbortSignal.timeout(1500) });
  if (res.status !== 200) throw new Error(`JWKS answered ${res.status}`);
  const body = (await res.json()) as { keys?: unknown };
  if (!Array.isArray(body.keys) || body.keys.length === 0) throw new Error("JWKS has no keys");
}

export const gatewayService = defineService({
  name: "gateway",
  configSchema,
  async create({ config, logger, metrics, onStop, openRedis, tokenVerifier }) {
    const redis = await openRedis(config);
    const verifier = tokenVerifier(config);

    const failOpen = metrics.counter(
      "shopstream_gateway_rate_limit_fail_open_total",
      "Requests served without rate limits because Redis could not be reached",
    );
    const rateLimits = createRateLimits({
      redis,
      policies: {
        api: { limit: config.RATE_LIMIT_PER_MINUTE, windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS },
        auth: { limit: config.AUTH_RATE_LIMIT_PER_MINUTE, windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS },
      },
      timeoutMs: config.RATE_LIMIT_TIMEOUT_MS,
      logger,
      onFailOpen: () => failOpen.inc(),
    });

    const outcomes = metrics.counter(
      "shopstream_gateway_upstream_requests_total",
      "Proxied requests by upstream and how they ended",
      ["upstream", "outcome"],
    );
    const circuits = metrics.gauge(
      "shopstream_gateway_circuit_open",
      "1 while the circuit to an upstream is open or half-open",
      ["upstream"],
    );
    // The same peers as Express's `req.ip` trusts, for the hot path and for X-Forwarded-For.
    const trusted = trustedProxies();
    onStop("trusted proxies", () => trusted.close());
    const clientOf = (req: IncomingMessage) =>
      clientAddressOf(req.socket.remoteAddress, req.headers["x-forwarded-for"], trusted);
    const proxies = Object.fromEntries(
      UPSTREAMS.map((name) => {
        const breaker = createCircuitBreaker({
          threshold: config.CIRCUIT_FAILURE_THRESHOLD,
          openMs: config.CIRCUIT_OPEN_MS,
          probes: config.CIRCUIT_HALF_OPEN_PROBES,
          onChange: (state) => {
            circuits.set({ upstream: name }, state === "closed" ? 0 : 1);
            if (state === "open") logger.warn({ upstream: name }, "circuit opened");
            if (state === "closed") logger.info({ upstream: name }, "circuit closed");
          },
        });
        const proxy = createUpstreamProxy({
          name,
          target: String(config[UPSTREAM_URL[name]]),
          breaker,
          bodyIdleMs: config.BODY_IDLE_TIMEOUT_MS,
          connections: config.UPSTREAM_CONNECTIONS,
          clientOf,
          logger,
          outcomes: { inc: (labels: { upstream: string; outcome: ProxyOutcome }) => outcomes.inc(labels) },
        });
        return [name, proxy];
      }),
    ) as Record<Upstream, UpstreamProxy>;
    onStop("upstream pools", () => Promise.all(Object.values(proxies).map((p) => p.close())));

    const cacheReads = metrics.counter(
      "shopstream_gateway_catalog_cache_total",
      "Catalog reads by whether this gateway's cache answered them",
      ["result"],
    );
    const cacheEntries = metrics.gauge(
      "shopstream_gateway_catalog_cache_entries",
      "Catalog answers this gateway holds (0 right after a product change)",
    );
    const catalog = createCatalogCache({
      proxy: proxies.product,
      maxMs: config.CATALOG_CACHE_MAX_MS,
      onHit: () => cacheReads.inc({ result: "hit" }),
      onMiss: () => cacheReads.inc({ result: "miss" }),
      onSize: (n) => cacheEntries.set(n),
    });
    // The product service announces every committed change on this channel of the catalog
    // cache's Redis (its read cache's invalidation); a lost subscription costs at most
    // CATALOG_CACHE_MAX_MS of staleness, and the cache is emptied whenever it is made again.
    const changes = subscribeInBackground(
      {
        REDIS_URL: config.CATALOG_REDIS_URL,
        REDIS_USERNAME: config.CATALOG_REDIS_USERNAME,
        REDIS_PASSWORD: config.CATALOG_REDIS_PASSWORD,
        REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX,
      },
      logger,
      redis.key(CATALOG_CHANGED_CHANNEL),
      { onMessage: () => catalog.clear(), onConnected: () => catalog.clear() },
    );
    onStop("catalog changes", () => changes.close());
    const timeouts = { default: config.UPSTREAM_TIMEOUT_MS, checkout: config.CHECKOUT_TIMEOUT_MS };
    const bodyLimits = { json: config.BODY_LIMIT_BYTES, upload: config.UPLOAD_LIMIT_BYTES };

    let sockets: { closeAll(): void } | undefined;

    return {
      // Bodies stream through to the services untouched; the gateway parses none.
      parseJson: false,
      front: catalogHotPath({
        proxies,
        catalog,
        bodyLimits,
        timeouts,
        rateLimits,
        logger,
        metrics,
        clientOf,
      }),
      routes(app) {
        apiDocsRoutes(app);
        apiRoutes(app, {
          verifier,
          rateLimits,
          proxies,
          catalog,
          corsOrigins: config.CORS_ORIGINS,
          bodyLimits,
          timeouts,
          logger,
        });
        if (config.STOREFRONT_DIR) storefrontRoutes(app, config.STOREFRONT_DIR, logger);
      },
      // Nothing the gateway cannot answer without: without Redis it serves without rate limits
      // (fail open); without the catalog cache's Redis its catalog cache expires on its own;
      // without the JWKS anonymous reads go on and signed-in requests get 503 (docs/faults.md).
      // Taking it out of its Service would turn any of these outages into the whole shop's.
      readiness: {},
      degradable: {
        redis: () => redis.client.ping(),
        "catalog changes": async () => {
          if (!changes.isSubscribed()) throw new Error("not subscribed to the catalog's changes");
        },
        jwks: () => jwksReady(config.JWKS_URL),
      },
      afterListen(server) {
        sockets = handleUpgrades(server, {
          verifier,
          rateLimits,
          notification: proxies.notification,
          logger,
          timeoutMs: config.UPSTREAM_TIMEOUT_MS,
        });
      },
      beforeDrain() {
        // Open WebSockets would hold the drain to its timeout; clients reconnect to another replica.
        sockets?.closeAll();
      },
    };
  },
});
