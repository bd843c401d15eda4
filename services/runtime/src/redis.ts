import { createRequire } from "node:module";
import type { createClient } from "@redis/client";
import type { Logger } from "./logger.js";

// The core client only (the `redis` package also loads the search, JSON, time-series and bloom
// modules, about 6 MiB), loaded on first use: order and payment never pay for it.
const require = createRequire(import.meta.url);
let client: { createClient: typeof createClient } | undefined;
const loadClient = () => (client ??= require("@redis/client") as { createClient: typeof createClient });

export interface RedisConfig {
  REDIS_URL: string;
  REDIS_USERNAME?: string | undefined;
  REDIS_PASSWORD?: string | undefined;
  REDIS_KEY_PREFIX: string;
}

export interface Redis {
  client: RedisClient;
  /** Builds a key under this service's prefix. */
  key(...parts: (string | number)[]): string;
  /** A second connection for SUBSCRIBE (a subscribed connection can run nothing else). */
  duplicate(): Promise<RedisClient>;
  close(): Promise<void>;
}

function buildClient(config: RedisConfig) {
  return loadClient().createClient({
    url: config.REDIS_URL,
    ...(config.REDIS_USERNAME ? { username: config.REDIS_USERNAME } : {}),
    ...(config.REDIS_PASSWORD ? { password: config.REDIS_PASSWORD } : {}),
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 5000,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 5000),
    },
  });
}

export type RedisClient = ReturnType<typeof buildClient>;

/**
 * Connects with bounded timeouts and no offline queue: while Redis is away commands fail at
 * once (callers answer 503) instead of piling up; the client reconnects in the background.
 */
export async function createRedis(config: RedisConfig, logger: Logger): Promise<Redis> {
  const client = buildClient(config);
  let lastError = "";
  client.on("error", (err: Error) => {
    // Log each distinct failure once rather than on every reconnect attempt.
    if (err.message !== lastError) logger.warn({ err: err.message }, "redis connection error");
    lastError = err.message;
  });
  client.on("ready", () => {
    if (lastError) logger.info("redis connection restored");
    lastError = "";
  });
  await client.connect();
  const subscribers: RedisClient[] = [];
  return {
    client,
    key: (...parts) => `${config.REDIS_KEY_PREFIX}${parts.join(":")}`,
    async duplicate() {
      const sub = client.duplicate();
      sub.on("error", (err: Error) => logger.warn({ err: err.message }, "redis subscriber error"));
      await sub.connect();
      subscribers.push(sub);
      return sub;
    },
    async close() {
      for (const sub of subscribers) await sub.close().catch(() => undefined);
      await client.close().catch(() => undefined);
    },
  };
}
