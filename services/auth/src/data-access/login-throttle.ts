import { createHash } from "node:crypto";
import type { Redis } from "@shopstream/runtime";
import type { LoginThrottle } from "../domain/ports.js";
import { withRedis } from "./redis-unavailable.js";

export interface LoginThrottleOptions {
  /** Guesses one address may make at one account per window. */
  maxPerAccountAndAddress: number;
  /** Failures of one address across every account per window (password spraying). */
  maxPerAddress: number;
  /** Failures against one account from every address after which it is under attack. */
  maxPerAccount: number;
  windowSeconds: number;
}

/**
 * Fixed-window counters in Redis, shared by every replica (e-mails only as a SHA-256):
 *   login-attempts:pair:<account>:<address>   guesses of this address at this account
 *   login-attempts:address:<address>          guesses of this address at any account
 *   login-attempts:account:<account>          failures against this account from anywhere
 *
 * An attempt is counted on the pair and the address before the password is checked, so parallel
 * guesses cannot slip past, and refused at once when either is over its limit. The account's own
 * count never refuses anyone by itself: it only shrinks the pair limit to one guess while the
 * account is under attack. So an address that has not guessed at an account can always try the
 * right password, and an attacker cannot lock the owner out from somewhere else.
 *
 * Returns 0 when the attempt may go ahead, or the milliseconds until the window that refuses it
 * ends (its counters are put back: a refused attempt checks no password and costs nothing).
 */
const ATTEMPT = `
local window = tonumber(ARGV[1])
local pair = redis.call('INCR', KEYS[1])
if pair == 1 then redis.call('EXPIRE', KEYS[1], window) end
local address = redis.call('INCR', KEYS[2])
if address == 1 then redis.call('EXPIRE', KEYS[2], window) end
local pairLimit = tonumber(ARGV[2])
if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[4]) then pairLimit = 1 end
local wait = 0
if pair > pairLimit then wait = math.max(wait, redis.call('PTTL', KEYS[1])) end
if address > tonumber(ARGV[3]) then wait = math.max(wait, redis.call('PTTL', KEYS[2])) end
if wait == 0 then return 0 end
redis.call('DECR', KEYS[1])
redis.call('DECR', KEYS[2])
return wait
`;

/** One more failure against the account; answers the account's failures in this window. */
const FAILED = `
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1])) end
return failures
`;

/**
 * The address proved it knows the password: its pair starts afresh, the address gets its attempt
 * back, and the failures it made before (the owner's own typos) no longer count against the
 * account, so they never put it under attack.
 */
const SUCCEEDED = `
local pair = tonumber(redis.call('GET', KEYS[1]) or '1')
redis.call('DEL', KEYS[1])
-- A plain DECR of an expired counter would recreate it below zero, without a TTL.
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('DECR', KEYS[2]) end
local own = pair - 1
if own > 0 and redis.call('EXISTS', KEYS[3]) == 1 then
  if redis.call('DECRBY', KEYS[3], own) <= 0 then redis.call('DEL', KEYS[3]) end
end
return 1
`;

export function createLoginThrottle(redis: Redis, options: LoginThrottleOptions): LoginThrottle {
  const { client } = redis;
  const account = (email: string) => createHash("sha256").update(email).digest("hex");
  const keys = (email: string, address: string) => ({
    pair: redis.key("login-attempts", "pair", account(email), address),
    address: redis.key("login-attempts", "address", address),
    account: redis.key("login-attempts", "account", account(email)),
  });
  const window = String(options.windowSeconds);

  return {
    attempt: (email, address) =>
      withRedis(redis, async () => {
        const k = keys(email, address);
        const wait = Number(
          await client.eval(ATTEMPT, {
            keys: [k.pair, k.address, k.account],
            arguments: [
              window,
              String(options.maxPerAccountAndAddress),
              String(options.maxPerAddress),
              String(options.maxPerAccount),
            ],
          }),
        );
        if (wait === 0) return { allowed: true };
        // PTTL is -1 for a key without a TTL, which the script never leaves: wait a whole window then.
        const ms = wait > 0 ? wait : options.windowSeconds * 1000;
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) };
      }),

    failed: (email, address) =>
      withRedis(redis, async () => {
        const failures = Number(
          await client.eval(FAILED, { keys: [keys(email, address).account], arguments: [window] }),
        );
        return { accountFailures: failures, crossedLimit: failures === options.maxPerAccount };
      }),

    succeeded: (email, address) =>
      withRedis(redis, async () => {
        const k = keys(email, address);
        await client.eval(SUCCEEDED, { keys: [k.pair, k.address, k.account] });
      }),
  };
}
