import type { Logger, Redis } from "@shopstream/runtime";
import { etagOf } from "../domain/catalog.js";
import type { CachedText, ReadCache } from "../domain/ports.js";

interface CounterLike {
  inc(labels: { cache: string }): void;
}

export interface RedisReadCacheOptions {
  ttlSeconds: number;
  logger: Logger;
  hits: CounterLike;
  misses: CounterLike;
}

/** Where every committed catalog change is announced (the gateway empties its cache on it). */
export const CATALOG_CHANGED_CHANNEL = ["catalog", "changed"] as const;

export { etagOf };

/**
 * Catalog reads in Redis, stored already serialised as `<version>\n<etag>\n<text>` under a key
 * without the version: one MGET of the catalog version and the entry answers a read, and an
 * entry whose version is not the current one is a miss. A change bumps the version (and
 * announces itself on the change channel), so nothing cached before it is served again. A reader
 * stores what it loaded under the version it saw before loading: when a change lands in between,
 * that entry is already out of date and never read. Redis being away only costs speed.
 */
export function createRedisReadCache(redis: Redis, options: RedisReadCacheOptions): ReadCache {
  const { client } = redis;
  const versionKey = redis.key("catalog", "version");
  const channel = redis.key(...CATALOG_CHANGED_CHANNEL);
  let lastError = "";

  const warn = (err: unknown, what: string) => {
    const message = (err as Error).message;
    if (message !== lastError) options.logger.warn({ err: message }, `read cache: ${what} failed`);
    lastError = message;
  };

  return {
    async read(kind, id, load) {
      const key = redis.key("catalog", kind, id);
      let version: string | undefined;
      try {
        const [current, cached] = await client.mGet([versionKey, key]);
        version = current ?? "0";
        if (cached) {
          const first = cached.indexOf("\n");
          const second = cached.indexOf("\n", first + 1);
          if (first > 0 && second > first && cached.slice(0, first) === version) {
            options.hits.inc({ cache: kind });
            return { etag: cached.slice(first + 1, second), text: cached.slice(second + 1) };
          }
        }
      } catch (err) {
        warn(err, "read");
      }
      options.misses.inc({ cache: kind });
      const text = await load();
      if (text === null) return null;
      const entry: CachedText = { text, etag: etagOf(text) };
      if (version !== undefined) {
        await client
          .set(key, `${version}\n${entry.etag}\n${text}`, {
            expiration: { type: "EX", value: options.ttlSeconds },
          })
          .catch((err: unknown) => warn(err, "write"));
      }
      return entry;
    },
    async invalidate() {
      try {
        await client.multi().incr(versionKey).publish(channel, "changed").exec();
      } catch (err) {
        // Entries expire on their own; until then a read may be up to one TTL old.
        warn(err, "invalidation");
      }
    },
  };
}
