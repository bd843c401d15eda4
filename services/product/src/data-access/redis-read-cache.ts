import { type Logger, type Redis, TimedOutError, withTimeout } from "@shopstream/runtime";
import { etagOf } from "../domain/catalog.js";
import type { CachedText, ReadCache } from "../domain/ports.js";

interface CounterLike {
  inc(labels: { cache: string }): void;
}

export interface RedisReadCacheOptions {
  ttlSeconds: number;
  /** Longest a read or a change waits for Redis before it does without (CACHE_TIMEOUT_MS). */
  timeoutMs: number;
  logger: Logger;
  hits: CounterLike;
  misses: CounterLike;
}

/** Where every committed catalog change is announced (the gateway empties its cache on it). */
export const CATALOG_CHANGED_CHANNEL = ["catalog", "changed"] as const;

export { etagOf };

/** Not a failure to log: the cache is skipped while Redis leaves commands unanswered. */
class NotAnswering extends Error {}

/**
 * Catalog reads in Redis, stored already serialised as `<version>\n<etag>\n<text>` under a key
 * without the version: one MGET of the catalog version and the entry answers a read, and an
 * entry whose version is not the current one is a miss. A change bumps the version (and
 * announces itself on the change channel), so nothing cached before it is served again. A reader
 * stores what it loaded under the version it saw before loading: when a change lands in between,
 * that entry is already out of date and never read. Redis being away only costs speed:
 *
 * - A change whose bump failed (Redis unreachable, or not answering in time) leaves the entries
 *   of before it current in Redis, which keeps them when only the connection was lost. Until a
 *   later bump succeeds this replica reads none of them, and it bumps again as soon as Redis
 *   answers (on reconnection, or on the next read).
 * - node-redis bounds only the wait of a command to be written, not the wait for its reply: a
 *   server that stops answering while the connection stays open (a frozen process, a host gone
 *   without a reset) would hold every read and every change. Each command is given `timeoutMs`;
 *   once one is past it, Redis is skipped altogether until every such command has its answer
 *   (or its connection is dropped), so a stall costs `timeoutMs` once, not on every read.
 */
export function createRedisReadCache(redis: Redis, options: RedisReadCacheOptions): ReadCache {
  const { client } = redis;
  const versionKey = redis.key("catalog", "version");
  const channel = redis.key(...CATALOG_CHANGED_CHANNEL);
  let lastError = "";

  const warn = (err: unknown, what: string) => {
    if (err instanceof NotAnswering) return;
    const message = (err as Error).message;
    if (message !== lastError) options.logger.warn({ err: message }, `read cache: ${what} failed`);
    lastError = message;
  };

  let unanswered = 0;
  const call = <T>(command: () => Promise<T>): Promise<T> => {
    if (unanswered > 0) return Promise.reject(new NotAnswering("Redis is not answering"));
    let reply: Promise<T>;
    try {
      reply = command();
    } catch (err) {
      return Promise.reject(err);
    }
    return withTimeout(reply, options.timeoutMs, "Redis").catch((err: unknown) => {
      if (err instanceof TimedOutError) {
        // Stalled: skip Redis until this reply (and any other late one) comes or fails.
        unanswered++;
        reply
          .catch(() => undefined)
          .finally(() => {
            unanswered--;
            announce();
          });
      }
      throw err;
    });
  };

  // Bumps in the order they are sent: a bump that succeeds was sent after the commit of every
  // change whose bump was sent before it, so it settles those that failed.
  let sent = 0;
  let lastFailed = 0;
  let lastDone = 0;
  const unannounced = () => lastFailed > lastDone;
  const bump = async () => {
    const order = ++sent;
    try {
      await call(() => client.multi().incr(versionKey).publish(channel, "changed").exec());
      lastDone = Math.max(lastDone, order);
    } catch (err) {
      lastFailed = Math.max(lastFailed, order);
      warn(err, "invalidation");
    }
  };
  let retrying = false;
  /** Bumps again for a change not announced yet, one attempt at a time, when Redis may answer. */
  function announce() {
    if (!unannounced() || retrying || unanswered > 0 || !client.isReady) return;
    retrying = true;
    void bump().finally(() => {
      retrying = false;
    });
  }
  client.on("ready", announce);

  return {
    async read(kind, id, load) {
      const key = redis.key("catalog", kind, id);
      let version: string | undefined;
      if (unannounced()) {
        announce();
      } else {
        try {
          const [current, cached] = await call(() => client.mGet([versionKey, key]));
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
      }
      options.misses.inc({ cache: kind });
      const text = await load();
      if (text === null) return null;
      const entry: CachedText = { text, etag: etagOf(text) };
      if (version !== undefined && !unannounced()) {
        await call(() =>
          client.set(key, `${version}\n${entry.etag}\n${text}`, {
            expiration: { type: "EX", value: options.ttlSeconds },
          }),
        ).catch((err: unknown) => warn(err, "write"));
      }
      return entry;
    },
    async invalidate() {
      // On failure the entries of before this change are skipped here until a bump succeeds;
      // other replicas may serve them until then, at most `ttlSeconds`.
      await bump();
    },
  };
}
