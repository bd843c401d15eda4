import { amqpEnv, commonEnv, env, redisEnv, tokenEnv } from "@shopstream/runtime";
import { z } from "zod";

const DAY = 24 * 3600;

export const configSchema = z.object({
  ...commonEnv,
  ...redisEnv,
  ...amqpEnv,
  ...tokenEnv,
  PORT: env.port(),
  /** A connection that did not answer the previous ping by the next one is dropped. */
  WS_PING_INTERVAL_MS: env.int(50, 600_000, 30_000),
  /** Open WebSockets per user on one replica; one more is refused with 429. */
  WS_MAX_CONNECTIONS_PER_USER: env.int(1, 1000, 10),
  /** Largest frame a client may send (clients have nothing to say; this only bounds abuse). */
  WS_MAX_MESSAGE_BYTES: env.int(16, 65_536, 1024),
  /** Client messages per minute before the connection is closed as abusive. */
  WS_MAX_CLIENT_MESSAGES_PER_MINUTE: env.int(1, 10_000, 60),
  /** Notifications kept per user, newest first. */
  HISTORY_LIMIT: env.int(1, 1000, 100),
  /** A user's history expires this long after their last notification (30 days). */
  HISTORY_TTL_SECONDS: env.int(60, 365 * DAY, 30 * DAY),
  /** How long an event id is remembered, so a redelivery within it is applied once. */
  EVENT_DEDUP_TTL_SECONDS: env.int(60, 90 * DAY, 7 * DAY),
});

export type NotificationConfig = z.output<typeof configSchema>;
