import { defineService } from "@shopstream/runtime";
import { configSchema } from "./config.js";
import { BusinessCounters } from "./data-access/business-metrics.js";
import { RedisShareStore } from "./data-access/share-store.js";
import type { RecordDeps } from "./domain/record.js";
import { keepShare } from "./domain/share-keeper.js";
import { analyticsRoutes } from "./entry-points/http/analytics-routes.js";
import { consumeAllEvents } from "./entry-points/messaging/consumers.js";

export const analyticsService = defineService({
  name: "analytics",
  configSchema,
  async create({ config, logger, metrics, onStop, connect, openRedis, openBroker, tokenVerifier }) {
    const redis = await openRedis(config);

    // The counters start from this replica's share of the totals kept in Redis.
    const shares = new RedisShareStore(redis, {
      leaseMs: config.SHARE_LEASE_MS,
      dedupTtlSeconds: config.EVENT_DEDUP_TTL_SECONDS,
    });
    const counters = new BusinessCounters(metrics);
    counters.load(await connect("analytics share", () => shares.claim()));
    logger.info({ share: shares.current }, "analytics share taken");
    const keeper = keepShare({ shares, counters, logger }, Math.floor(config.SHARE_LEASE_MS / 3));
    // Registered before the broker, so it runs after the consumers drained: a restart takes the
    // share back with every event counted.
    onStop("analytics share", async () => {
      await keeper.stop();
      await shares.release();
    });

    const broker = openBroker(config);
    const verifier = tokenVerifier(config);
    const record: RecordDeps = { shares, counters, logger };

    return {
      readiness: {
        redis: () => redis.client.ping(),
        rabbitmq: async () => {
          if (!broker.isConnected()) throw new Error("not connected");
        },
        share: async () => {
          if (shares.current === undefined) throw new Error("no share of the totals held");
        },
      },
      routes: analyticsRoutes({ record, verifier }),
      // Client events are a few fields; anything bigger is refused with 413.
      bodyLimit: "4kb",
      async afterListen() {
        await consumeAllEvents(broker, record);
      },
    };
  },
});
