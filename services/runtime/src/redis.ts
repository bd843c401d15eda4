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

export interface RedisOptions {
  /**
   * `false`: return at once and connect in the background, for a Redis the service answers
   * without (a cache): until it is reached every command fails at once, as while it is away.
   * Default `true`: wait for it (a store the service cannot work without).
   */
  waitForServer?: boolean;
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

/** Logs each distinct connection failure once rather than on every reconnect attempt. */
function logConnection(client: RedisClient, logger: Logger, what: string): void {
  let lastError = "";
  client.on("error", (err: Error) => {
    if (err.message !== lastError) logger.warn({ err: err.message }, `${what} error`);
    lastError = err.message;
  });
  client.on("ready", () => {
    if (lastError) logger.info(`${what} restored`);
    lastError = "";
  });
}

/**
 * Connects with bounded timeouts and no offline queue: while Redis is away commands fail at
 * once (callers answer 503) instead of piling up; the client reconnects in the background.
 */
export async function createRedis(
  config: RedisConfig,
  logger: Logger,
  options: RedisOptions = {},
): Promise<Redis> {
  const client = buildClient(config);
  logConnection(client, logger, "redis connection");
  // Until the first connection, and after close, `connect` settles only by failing: the failure
  // is already logged.
  if (options.waitForServer === false) client.connect().catch(() => undefined);
  else await client.connect();
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

export interface RedisSubscription {
  /** Connected and subscribed right now. */
  isSubscribed(): boolean;
  close(): Promise<void>;
}

/**
 * Listens on one channel over a connection of its own that holds up nothing: it connects, and
 * reconnects, in the background, and its user needs no command but SUBSCRIBE. The client
 * subscribes again on every reconnection; a subscription a lost connection cut before it took is
 * made again here. `onConnected` runs at each connection: messages sent meanwhile were missed.
 */
export function subscribeInBackground(
  config: RedisConfig,
  logger: Logger,
  channel: string,
  handlers: { onMessage(message: string): void; onConnected(): void },
): RedisSubscription {
  const client = buildClient(config);
  logConnection(client, logger, `redis subscription to ${channel}`);
  let subscribed = false;
  client.on("end", () => {
    subscribed = false;
  });
  client.on("error", () => {
    subscribed = false;
  });
  client.on("ready", () => {
    handlers.onConnected();
    // The client re-subscribed what it had before it became ready.
    if (client.isPubSubActive) {
      subscribed = true;
      return;
    }
    client.subscribe(channel, handlers.onMessage).then(
      () => {
        subscribed = client.isReady;
      },
      (err: Error) => logger.warn({ err: err.message, channel }, "redis subscribe failed"),
    );
  });
  client.connect().catch(() => undefined);
  return {
    isSubscribed: () => subscribed && client.isReady,
    async close() {
      // Nothing to drain on a connection that only listens.
      client.destroy();
    },
  };
}
