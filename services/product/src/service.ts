import { setTimeout as sleep } from "node:timers/promises";
import {
  type Db,
  defineService,
  type Logger,
  type OutboxRelay,
  startOutboxRelay,
  startRetention,
} from "@shopstream/runtime";
import { configSchema, type ProductConfig } from "./config.js";
import { createLocalImageStore } from "./data-access/local-image-store.js";
import { createMariaDbSearchIndex } from "./data-access/mariadb-search-index.js";
import { migrations } from "./data-access/migrations.js";
import { createProductRepository } from "./data-access/product-repository.js";
import { createRedisReadCache } from "./data-access/redis-read-cache.js";
import { createReservationRepository } from "./data-access/reservation-repository.js";
import { createCatalog } from "./domain/catalog.js";
import type { ImageStore, SearchIndex } from "./domain/ports.js";
import { createReservations } from "./domain/reservations.js";
import { ensureSearchIndex } from "./domain/search-sync.js";
import { seedDemoCatalog } from "./domain/seed/seed.js";
import { productRoutes } from "./entry-points/http/product-routes.js";
import { reservationRoutes } from "./entry-points/http/reservation-routes.js";
import { startConsumers } from "./entry-points/messaging/consumers.js";

// The MinIO and Elasticsearch clients (about 25 MiB each) are imported only when configured.

/** MinIO when it is configured, the local folder otherwise. */
async function createImageStore(config: ProductConfig): Promise<ImageStore> {
  if (!config.MINIO_ENDPOINT) return createLocalImageStore(config.IMAGES_DIR);
  const [{ Client: MinioClient }, { createMinioImageStore }] = await Promise.all([
    import("minio"),
    import("./data-access/minio-image-store.js"),
  ]);
  const client = new MinioClient({
    endPoint: config.MINIO_ENDPOINT,
    port: config.MINIO_PORT,
    useSSL: config.MINIO_USE_SSL,
    accessKey: config.MINIO_ACCESS_KEY!,
    secretKey: config.MINIO_SECRET_KEY!,
    region: config.MINIO_REGION,
  });
  return createMinioImageStore({ client, bucket: config.MINIO_BUCKET, region: config.MINIO_REGION });
}

/** Elasticsearch when it is configured, MariaDB full-text otherwise. */
async function createSearchIndex(config: ProductConfig, db: Db, logger: Logger) {
  if (!config.ELASTICSEARCH_URL) return { search: createMariaDbSearchIndex(db), close: async () => {} };
  const { createElasticsearchClient, createElasticsearchIndex } = await import(
    "./data-access/elasticsearch-search-index.js"
  );
  const client = createElasticsearchClient(config.ELASTICSEARCH_URL);
  const search: SearchIndex = createElasticsearchIndex({ client, alias: config.ELASTICSEARCH_INDEX, logger });
  return { search, close: () => client.close() };
}

export const productService = defineService({
  name: "product",
  configSchema,
  async create({ config, logger, metrics, onStop, connect, openDb, openRedis, openBroker, tokenVerifier }) {
    const db = await openDb(config, migrations);
    // Redis is only the read cache here: start without it, and read MariaDB until it answers.
    const redis = await openRedis(config, { waitForServer: false });
    const broker = openBroker(config);
    const images = await createImageStore(config);
    await connect(`image store (${images.backend})`, () => images.init());
    const { search, close: closeSearch } = await createSearchIndex(config, db, logger);
    onStop("search", closeSearch);

    const store = createProductRepository(db);
    if (config.SEED_DEMO_CATALOG) await seedDemoCatalog({ seeder: store, images, logger });

    const cache = createRedisReadCache(redis, {
      ttlSeconds: config.CACHE_TTL_SECONDS,
      timeoutMs: config.CACHE_TIMEOUT_MS,
      logger,
      hits: metrics.counter(
        "shopstream_product_cache_hits_total",
        "Catalog reads answered by the Redis cache",
        ["cache"],
      ),
      misses: metrics.counter(
        "shopstream_product_cache_misses_total",
        "Catalog reads the Redis cache could not answer",
        ["cache"],
      ),
    });
    // The relay starts once the server listens; until then there is nothing to hurry along.
    let relay: OutboxRelay | undefined;
    const catalog = createCatalog({ store, search, images, cache, logger, onCommitted: () => relay?.kick() });
    const reservations = createReservations({
      store: createReservationRepository(db),
      reservations: metrics.counter(
        "shopstream_product_reservations_total",
        "Stock reservation requests by result",
        ["result"],
      ),
      releases: metrics.counter("shopstream_product_releases_total", "Stock release requests by result", [
        "result",
      ]),
      async onCommitted() {
        relay?.kick();
        await cache.invalidate();
      },
    });
    const verifier = tokenVerifier(config);

    return {
      routes(app) {
        productRoutes(app, { catalog, verifier, imageStreams: config.IMAGE_STREAMS_MAX });
        reservationRoutes(app, { reservations });
      },
      // The catalog is MariaDB. Without Redis reads skip the cache; without the broker the outbox
      // waits; without search or images only searches or pictures fail (docs/faults.md).
      readiness: { mariadb: () => db.query("SELECT 1") },
      degradable: {
        redis: () => redis.client.ping(),
        rabbitmq: async () => {
          if (!broker.isConnected()) throw new Error("not connected to RabbitMQ");
        },
        search: () => search.ready(),
        images: () => images.ready(),
      },
      async afterListen() {
        relay = startOutboxRelay({ db, broker, logger, metrics });
        const started = relay;
        onStop("outbox relay", () => started.stop());
        const retention = startRetention({ db, logger, metrics });
        onStop("retention", () => retention.stop());
        await startConsumers({ broker, reservations, store, search, logger });
        if (search.backend === "elasticsearch") {
          // Elasticsearch can take a minute to come up: serve meanwhile (searches answer 503) and retry.
          const abort = new AbortController();
          const bootstrap = (async () => {
            for (let attempt = 1; !abort.signal.aborted; attempt++) {
              try {
                await ensureSearchIndex(store, search);
                return;
              } catch (err) {
                logger.warn(
                  { err: (err as Error).message, attempt },
                  "search index not available yet; retrying",
                );
                await sleep(Math.min(30_000, 500 * 2 ** attempt), undefined, { signal: abort.signal }).catch(
                  () => undefined,
                );
              }
            }
          })();
          onStop("search index bootstrap", async () => {
            abort.abort();
            await bootstrap;
          });
        }
      },
    };
  },
});
