import { amqpEnv, commonEnv, env, redisEnv, tokenEnv } from "@shopstream/runtime";
import { z } from "zod";

export const configSchema = z.object({
  ...commonEnv,
  ...redisEnv,
  ...amqpEnv,
  ...tokenEnv,
  PORT: env.port(),
  PRODUCT_URL: env.url(),
  /** Bound on each product lookup: a slow catalog makes the cart answer 503, never hang. */
  PRODUCT_TIMEOUT_MS: env.int(50, 60_000, 2000),
  /** A cart left alone this long disappears; every change starts the period again. */
  CART_TTL_DAYS: env.int(1, 365, 30),
  /** Different products one cart may hold. */
  MAX_CART_LINES: env.int(1, 500, 50),
  /** The currency carts are totalled in; a product priced in another one cannot be bought here. */
  CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, "an ISO 4217 code such as EUR")
    .default("EUR"),
});

export type CartConfig = z.output<typeof configSchema>;
