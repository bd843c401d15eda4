import { amqpEnv, commonEnv, env, redisEnv, tokenEnv } from "@shopstream/runtime";
import { z } from "zod";

export const configSchema = z.object({
  ...commonEnv,
  ...redisEnv,
  ...amqpEnv,
  ...tokenEnv,
  PORT: env.port(),
  /** How long an event id is remembered, so a redelivery within it is counted once (7 days). */
  EVENT_DEDUP_TTL_SECONDS: env.int(60, 90 * 24 * 3600, 7 * 24 * 3600),
  /**
   * How long a replica's claim on its share of the totals lasts without renewal (renewed every
   * third of it). A crashed replica's share is free again after this.
   */
  SHARE_LEASE_MS: env.int(1000, 600_000, 30_000),
});

export type AnalyticsConfig = z.output<typeof configSchema>;
