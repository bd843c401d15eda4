import { createHash } from "node:crypto";
import type { Redis } from "@shopstream/runtime";
import type { LoginThrottle } from "../domain/stores.js";
import { withRedis } from "./redis-unavailable.js";

export interface LoginThrottleOptions {
  maxPerAccount: number;
  maxPerAddress: number;
  windowSeconds: number;
}

/**
 * Fixed-window counters in Redis, shared by every replica:
 *   login-attempts:account:<sha256 of the e-mail>   (no address in clear in Redis)
 *   login-attempts:address:<client address>
 * Each attempt is counted before the password is checked; a success clears the account's
 * counter and gives the address its attempt back, so only failures add up.
 */
/** Clears the account's counter and refunds the address's attempt, unless its window ended. */
const SUCCEEDED = `
redis.call('DEL', KEYS[1])
-- A plain DECR of an expired counter would recreate it at -1, without a TTL.
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('DECR', KEYS[2]) end
return 1
`;

export function createLoginThrottle(redis: Redis, options: LoginThrottleOptions): LoginThrottle {
  const { client } = redis;
  const accountKey = (email: string) =>
    redis.key("login-attempts", "account", createHash("sha256").update(email).digest("hex"));
  const addressKey = (address: string) => redis.key("login-attempts", "address", address);
  const window = { expiration: { type: "EX", value: options.windowSeconds }, condition: "NX" } as const;

  return {
    attempt: (email, address) =>
      withRedis(redis, async () => {
        const account = accountKey(email);
        const from = addressKey(address);
        const [, accountCount, accountTtl, , addressCount, addressTtl] = (await client
          .multi()
          .set(account, "0", window)
          .incr(account)
          .pTTL(account)
          .set(from, "0", window)
          .incr(from)
          .pTTL(from)
          .exec()) as unknown as [unknown, number, number, unknown, number, number];
        const waits: number[] = [];
        if (accountCount > options.maxPerAccount) waits.push(accountTtl);
        if (addressCount > options.maxPerAddress) waits.push(addressTtl);
        if (waits.length === 0) return { allowed: true };
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(Math.max(...waits) / 1000)) };
      }),

    succeeded: (email, address) =>
      withRedis(redis, async () => {
        await client.eval(SUCCEEDED, { keys: [accountKey(email), addressKey(address)] });
      }),
  };
}
