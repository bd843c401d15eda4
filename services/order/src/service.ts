import { defineService, type OutboxRelay, startOutboxRelay, startRetention } from "@shopstream/runtime";
import { configSchema } from "./config.js";
import { cartClient } from "./data-access/cart-client.js";
import { CheckoutLeaseRepository } from "./data-access/checkout-lease-repository.js";
import { IdempotencyRepository } from "./data-access/idempotency-repository.js";
import { migrations } from "./data-access/migrations.js";
import { OrderRepository } from "./data-access/order-repository.js";
import { productClient } from "./data-access/product-client.js";
import { type CheckoutDeps, sweepAbandonedCheckouts } from "./domain/checkout.js";
import type { OrderDeps } from "./domain/order-actions.js";
import { orderRoutes } from "./entry-points/http/order-routes.js";
import { consumePaymentEvents } from "./entry-points/messaging/consumers.js";

export const orderService = defineService({
  name: "order",
  configSchema,
  async create({ config, logger, metrics, onStop, openDb, openBroker, tokenVerifier, serviceTokens }) {
    // Cart's and product's internal routes admit the order service on its own service tokens.
    const tokens = serviceTokens();
    const db = await openDb(config, migrations);
    const broker = openBroker(config);

    let relay: OutboxRelay | undefined;
    const onCommitted = () => relay?.kick();
    const orders = new OrderRepository(db);
    const checkouts = metrics.counter("shopstream_checkouts_total", "Checkout attempts by outcome", [
      "outcome",
    ]);
    const checkoutDeps: CheckoutDeps = {
      db,
      orders,
      keys: new IdempotencyRepository(db),
      leases: new CheckoutLeaseRepository(db),
      cart: cartClient(config.CART_URL, config.UPSTREAM_TIMEOUT_MS, tokens),
      stock: productClient(config.PRODUCT_URL, config.UPSTREAM_TIMEOUT_MS, tokens),
      logger,
      onCommitted,
      count: (outcome) => checkouts.inc({ outcome }),
      settings: {
        leaseMs: config.IDEMPOTENCY_LEASE_MS,
        ttlMs: config.IDEMPOTENCY_TTL_SECONDS * 1000,
        waitMs: config.IDEMPOTENCY_WAIT_MS,
      },
    };
    const orderDeps: OrderDeps = { db, orders, logger, onCommitted };
    const verifier = tokenVerifier(config);

    return {
      // The broker is left out on purpose: checkouts go on through the outbox while it is away.
      readiness: { mariadb: () => db.query("SELECT 1") },
      routes: orderRoutes({ checkout: checkoutDeps, orders: orderDeps, verifier }),
      async afterListen() {
        const started = startOutboxRelay({
          db,
          broker,
          logger,
          metrics,
          intervalMs: config.OUTBOX_INTERVAL_MS,
        });
        relay = started;
        onStop("outbox relay", () => started.stop());
        const retention = startRetention({ db, logger, metrics });
        onStop("retention", () => retention.stop());
        await consumePaymentEvents(broker, orderDeps);

        let sweeping: Promise<unknown> = Promise.resolve();
        const sweep = () => {
          sweeping = sweepAbandonedCheckouts(checkoutDeps).catch((err: Error) =>
            logger.warn({ err: err.message }, "checkout sweep failed; will retry"),
          );
        };
        const timer = setInterval(sweep, config.SWEEP_INTERVAL_MS);
        timer.unref();
        sweep();
        onStop("checkout sweeper", async () => {
          clearInterval(timer);
          await sweeping;
        });
      },
    };
  },
});
