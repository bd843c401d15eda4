import { createRequire } from "node:module";
import type { createClient } from "@redis/client";
import { TimedOutError, withTimeout } from "./http.js";
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
  /** How long a PING may go unanswered before the connection is dropped and made again (2 s). */
  replyTimeoutMs?: number;
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
  const watchdog = watchReplies(client, logger, options.replyTimeoutMs ?? REPLY_TIMEOUT_MS);
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
      watchdog.stop();
      for (const sub of subscribers) await closeWithin(sub, CLOSE_DRAIN_MS);
      await closeWithin(client, CLOSE_DRAIN_MS);
    },
  };
}

/** How long a connection's PING may go unanswered before the connection is taken for dead. */
const REPLY_TIMEOUT_MS = 2000;
/** How often a connection is asked to answer a PING. */
const WATCH_INTERVAL_MS = 1000;

/**
 * node-redis bounds a command's wait to be *written*, not its wait for the reply: a server that
 * stops answering while the connection stays open (a frozen process, a host gone from the
 * network without a reset, which the kernel notices only after minutes of retransmissions) would
 * hold every command, and every request waiting on one, without end. Replies come in order, so
 * one late PING means every command behind it is late too: the connection is then dropped, which
 * fails the commands in flight at once (the caller answers 503, as while Redis is away), and
 * made again in the background, as after any lost connection. A stall costs its requests at most
 * `WATCH_INTERVAL_MS + replyTimeoutMs` (`withTimeout` judges the deadline after the event loop has
 * read what arrived, so a loop held up by a long GC does not drop a healthy connection).
 */
function watchReplies(client: RedisClient, logger: Logger, replyTimeoutMs: number): { stop(): void } {
  let probing = false;
  let stopped = false;
  const probe = () => {
    if (probing || !client.isReady) return;
    probing = true;
    withTimeout(client.ping(), replyTimeoutMs, "redis ping")
      .catch((err: unknown) => {
        if (!(err instanceof TimedOutError) || stopped) return;
        logger.warn({ replyTimeoutMs }, "redis stopped answering; dropping the connection to make a new one");
        client.destroy();
        client.connect().catch(() => undefined);
      })
      .finally(() => {
        probing = false;
      });
  };
  const timer = setInterval(probe, WATCH_INTERVAL_MS);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/** How long `close` waits for the replies of commands in flight before dropping the connection. */
const CLOSE_DRAIN_MS = 2000;

/**
 * `close` lets the commands in flight finish, but waits for their replies without a limit: a
 * server that stopped answering (frozen, or its host gone without a reset) would hold the
 * shutdown forever. Past `ms` the connection is dropped and they fail.
 */
async function closeWithin(client: RedisClient, ms: number): Promise<void> {
  await withTimeout(client.close(), ms, "redis close").catch((err: unknown) => {
    if (err instanceof TimedOutError) client.destroy();
  });
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
  // Once the server has answered our SUBSCRIBE, the client keeps the channel and subscribes again
  // on each new connection before it becomes ready. Until then the channel is ours to subscribe
  // to: `isPubSubActive` is no sign of it, since a SUBSCRIBE that a cut connection failed can
  // leave it true with nothing subscribed.
  let confirmed = false;
  client.on("end", () => {
    subscribed = false;
  });
  client.on("error", () => {
    subscribed = false;
  });
  client.on("ready", () => {
    handlers.onConnected();
    if (confirmed) {
      subscribed = true;
      return;
    }
    client.subscribe(channel, handlers.onMessage).then(
      () => {
        confirmed = true;
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
