import { defineService, domainEvent } from "@shopstream/runtime";
import { configSchema } from "./config.js";
import { productClient } from "./data-access/product-client.js";
import { createRedisCartStore } from "./data-access/redis-cart-store.js";
import { createCart } from "./domain/cart.js";
import { CART_ITEM_ADDED } from "./domain/events.js";
import { cartRoutes } from "./entry-points/http/cart-routes.js";
import { startConsumers } from "./entry-points/messaging/consumers.js";

export const cartService = defineService({
  name: "cart",
  configSchema,
  async create({ config, logger, metrics, openRedis, openBroker, tokenVerifier }) {
    const redis = await openRedis(config);
    const broker = openBroker(config);
    const verifier = tokenVerifier(config);

    const additions = metrics.counter("shopstream_cart_item_additions_total", "Successful adds to a cart");
    const catalogFailures = metrics.counter(
      "shopstream_cart_catalog_failures_total",
      "Cart requests answered 503 because the product service did not answer usefully",
    );
    const cart = createCart({
      store: createRedisCartStore(redis, { ttlSeconds: config.CART_TTL_DAYS * 24 * 3600 }),
      catalog: productClient(config.PRODUCT_URL, config.PRODUCT_TIMEOUT_MS),
      currency: config.CURRENCY,
      maxLines: config.MAX_CART_LINES,
      onItemAdded(data) {
        additions.inc();
        // Best effort, for analytics: the add is done whether or not the broker takes the event.
        broker
          .publish(domainEvent(CART_ITEM_ADDED, data), 5000)
          .catch((err: Error) => logger.warn({ err: err.message }, "cart.item_added not published"));
      },
      onCatalogFailure(err) {
        catalogFailures.inc();
        logger.warn({ err: err.message }, "product catalog unavailable");
      },
    });

    return {
      routes(app) {
        cartRoutes(app, { cart, verifier });
      },
      // Carts live in Redis. The broker only carries the best-effort `cart.item_added` and the
      // `order.created` consumer, which catches up when it is back.
      readiness: { redis: () => redis.client.ping() },
      degradable: {
        rabbitmq: async () => {
          if (!broker.isConnected()) throw new Error("not connected to RabbitMQ");
        },
      },
      async afterListen() {
        await startConsumers({ broker, cart, logger });
      },
    };
  },
});
