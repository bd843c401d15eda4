import type { Logger, Redis } from "@shopstream/runtime";
import type { ReadCache } from "../domain/catalog.js";

interface CounterLike {
  inc(labels: { cache: string }): void;
}

export interface RedisReadCacheOptions {
  ttlSeconds: number;
  logger: Logger;
  hits: CounterLike;
  misses: CounterLike;
}

/**
 * Catalog reads in Redis under a version number. A change bumps the version, so every entry
 * cached before it is never read again (and expires on its TTL). A reader takes the version
 * before it reads the database: if a change lands in between, the reader stores its stale
 * answer under the old version, where nobody looks. Redis being away only costs speed.
 */
export function createRedisReadCache(redis: Redis, options: RedisReadCacheOptions): ReadCache {
  const { client } = redis;
  const versionKey = redis.key("catalog", "version");
  let lastError = "";

  const warn = (err: unknown, what: string) => {
    const message = (err as Error).message;
    if (message !== lastError) options.logger.warn({ err: message }, `read cache: ${what} failed`);
    lastError = message;
  };

  async function read<T>(kind: string, id: string, load: () => Promise<T>): Promise<T> {
    let key: string | undefined;
    try {
      const version = (await client.get(versionKey)) ?? "0";
      key = redis.key("catalog", `v${version}`, kind, id);
      const cached = await client.get(key);
      if (cached !== null) {
        options.hits.inc({ cache: kind });
        return JSON.parse(cached) as T;
      }
    } catch (err) {
      warn(err, "read");
    }
    options.misses.inc({ cache: kind });
    const value = await load();
    if (key) {
      await client
        .set(key, JSON.stringify(value), { expiration: { type: "EX", value: options.ttlSeconds } })
        .catch((err: unknown) => warn(err, "write"));
    }
    return value;
  }

  return {
    product: (id, load) => read("product", id, load),
    list: (key, load) => read("list", key, load),
    categories: (load) => read("categories", "all", load),
    async invalidate() {
      try {
        await client.incr(versionKey);
      } catch (err) {
        // Entries expire on their own; until then a read may be up to one TTL old.
        warn(err, "invalidation");
      }
    },
  };
}
