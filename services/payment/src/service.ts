import { defineService, type OutboxRelay, startOutboxRelay, startRetention } from "@shopstream/runtime";
import { configSchema } from "./config.js";
import { migrations } from "./data-access/migrations.js";
import { PaymentRepository } from "./data-access/payment-repository.js";
import type { ChargeDeps } from "./domain/charge.js";
import { consumeOrderCancelled, consumeOrderCreated } from "./entry-points/messaging/consumers.js";

export const paymentService = defineService({
  name: "payment",
  configSchema,
  async create({ config, logger, metrics, onStop, openDb, openBroker }) {
    const db = await openDb(config, migrations);
    const broker = openBroker(config);

    const payments = metrics.counter("shopstream_payments_total", "Payments processed by result", ["result"]);
    let relay: OutboxRelay | undefined;
    const deps: ChargeDeps = {
      db,
      payments: new PaymentRepository(),
      logger,
      onCommitted: () => relay?.kick(),
      count: (result) => payments.inc({ result }),
      holdTransactionMs: config.PAYMENT_TEST_DELAY_MS,
    };

    return {
      readiness: {
        mariadb: () => db.query("SELECT 1"),
        rabbitmq: async () => {
          // Payment does all its work from the queue: without the broker it does nothing.
          if (!broker.isConnected()) throw new Error("not connected");
        },
      },
      routes: () => {},
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
        await consumeOrderCreated(broker, deps);
        await consumeOrderCancelled(broker, deps);
      },
    };
  },
});
