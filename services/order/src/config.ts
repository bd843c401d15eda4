import { amqpEnv, commonEnv, dbEnv, env, tokenEnv } from "@shopstream/runtime";
import { z } from "zod";

export const configSchema = z.object({
  ...commonEnv,
  ...dbEnv,
  ...amqpEnv,
  ...tokenEnv,
  PORT: env.port(),
  PRODUCT_URL: env.url(),
  CART_URL: env.url(),
  /** Bound on each call to product or cart, so a slow dependency cannot hold a checkout. */
  UPSTREAM_TIMEOUT_MS: env.int(100, 60_000, 5000),
  /** How long an Idempotency-Key is remembered (24 h). */
  IDEMPOTENCY_TTL_SECONDS: env.int(60, 7 * 24 * 3600, 24 * 3600),
  /**
   * How long a checkout in progress owns its key. It must outlast a checkout (two upstream
   * calls and one transaction); after it, a retry or the sweeper may take the key over.
   */
  IDEMPOTENCY_LEASE_MS: env.int(1000, 10 * 60_000, 30_000),
  /** How long a duplicate request waits for the first one before answering 409. */
  IDEMPOTENCY_WAIT_MS: env.int(0, 30_000, 3000),
  /** How often abandoned checkouts are compensated and expired keys deleted. */
  SWEEP_INTERVAL_MS: env.int(100, 3_600_000, 30_000),
  OUTBOX_INTERVAL_MS: env.int(50, 60_000, 1000),
});

export type OrderConfig = z.output<typeof configSchema>;
