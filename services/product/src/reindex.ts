/**
 * Rebuilds the Elasticsearch index from MariaDB and swaps the alias to it:
 * `node dist/reindex.js` or `npm run reindex -w services/product`, with the service's env.
 */
import { ConfigError, createDb, createLogger, loadConfig } from "@shopstream/runtime";
import { reindexConfigSchema } from "./config.js";
import {
  createElasticsearchClient,
  createElasticsearchIndex,
} from "./data-access/elasticsearch-search-index.js";
import { createProductRepository } from "./data-access/product-repository.js";
import { rebuildSearchIndex } from "./domain/search-sync.js";

async function main(): Promise<number> {
  let config: ReturnType<typeof loadConfig<typeof reindexConfigSchema>>;
  try {
    config = loadConfig(reindexConfigSchema);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`reindex: configuration error: ${err.message}\n`);
    return 1;
  }
  const logger = createLogger("product-reindex", config.LOG_LEVEL);
  if (!config.ELASTICSEARCH_URL) {
    logger.info("ELASTICSEARCH_URL is not set: search uses MariaDB full-text, which InnoDB keeps current");
    return 0;
  }
  const db = createDb(config);
  const client = createElasticsearchClient(config.ELASTICSEARCH_URL);
  try {
    const search = createElasticsearchIndex({ client, alias: config.ELASTICSEARCH_INDEX, logger });
    const count = await rebuildSearchIndex(createProductRepository(db), search);
    logger.info({ products: count, alias: config.ELASTICSEARCH_INDEX }, "reindex complete");
    return 0;
  } catch (err) {
    logger.error({ err: (err as Error).message }, "reindex failed");
    return 1;
  } finally {
    await db.end().catch(() => undefined);
    await client.close().catch(() => undefined);
  }
}

process.exitCode = await main();
