import { amqpEnv, commonEnv, dbEnv, env } from "@shopstream/runtime";
import { z } from "zod";

export const configSchema = z
  .object({
    ...commonEnv,
    ...dbEnv,
    ...amqpEnv,
    PORT: env.port(),
    OUTBOX_INTERVAL_MS: env.int(50, 60_000, 1000),
    /**
     * Test only: holds each payment's transaction open this long before committing, so a test
     * can kill the process mid-message. Refused outside NODE_ENV=test.
     */
    PAYMENT_TEST_DELAY_MS: env.int(0, 120_000, 0),
  })
  .refine((c) => c.PAYMENT_TEST_DELAY_MS === 0 || c.NODE_ENV === "test", {
    path: ["PAYMENT_TEST_DELAY_MS"],
    message: "is only allowed with NODE_ENV=test",
  });

export type PaymentConfig = z.output<typeof configSchema>;
