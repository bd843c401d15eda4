import { createHash, randomUUID } from "node:crypto";
import type { Redis } from "@shopstream/runtime";
import type { RefreshTokenStore, RotationResult } from "../domain/ports.js";
import { withRedis } from "./redis-unavailable.js";

export interface RefreshTokenLifetimes {
  /** How long a refresh token lives unused (the idle timeout). */
  tokenSeconds: number;
  /** How long a family (one sign-in) lives at most, however often it rotates. */
  familySeconds: number;
}

/**
 * Layout, all under the service's key prefix:
 *   refresh-token:<sha256 of the token>  hash {user, family, spent, pv}   TTL ≤ token lifetime
 *   refresh-family:<family id>           the user id                      TTL = the family's lifetime
 * A token is good while it is unspent and its family key exists; revoking a family is one DEL.
 * The family's TTL is set once, when it starts: a rotation never extends it, and a new token
 * never outlives its family. `pv` is the user's password version the family was started under.
 * Spent tokens keep their TTL, so a reuse is recognised for as long as the token would have lived.
 */
const ROTATE = `
local user = redis.call('HGET', KEYS[1], 'user')
if not user then return {'invalid'} end
local family = redis.call('HGET', KEYS[1], 'family')
local left = redis.call('PTTL', KEYS[3])
if left <= 0 then return {'invalid'} end
if redis.call('HGET', KEYS[1], 'spent') == '1' then
  redis.call('DEL', KEYS[3])
  return {'reused', user, family}
end
local version = redis.call('HGET', KEYS[1], 'pv') or '0'
redis.call('HSET', KEYS[1], 'spent', '1')
redis.call('HSET', KEYS[2], 'user', user, 'family', family, 'spent', '0', 'pv', version)
redis.call('PEXPIRE', KEYS[2], math.min(tonumber(ARGV[1]), left))
return {'rotated', user, family, version}
`;

const sha256 = (token: string) => createHash("sha256").update(token).digest("hex");

export function createRefreshTokenStore(redis: Redis, lifetimes: RefreshTokenLifetimes): RefreshTokenStore {
  const { client } = redis;
  const tokenKey = (token: string) => redis.key("refresh-token", sha256(token));
  const familyKey = (family: string) => redis.key("refresh-family", family);
  const familyOf = (token: string) => client.hGet(tokenKey(token), "family");

  return {
    startFamily: (token, userId, passwordVersion) =>
      withRedis(redis, async () => {
        const family = randomUUID();
        await client
          .multi()
          .set(familyKey(family), userId, { expiration: { type: "EX", value: lifetimes.familySeconds } })
          .hSet(tokenKey(token), { user: userId, family, spent: "0", pv: String(passwordVersion) })
          .expire(tokenKey(token), Math.min(lifetimes.tokenSeconds, lifetimes.familySeconds))
          .exec();
      }),

    rotate: (token, next) =>
      withRedis(redis, async (): Promise<RotationResult> => {
        // The family is fixed when a token is stored, so reading it first cannot race.
        const family = await familyOf(token);
        if (!family) return { status: "invalid" };
        const reply = (await client.eval(ROTATE, {
          keys: [tokenKey(token), tokenKey(next), familyKey(family)],
          arguments: [String(lifetimes.tokenSeconds * 1000)],
        })) as [string, string?, string?, string?];
        const [status, userId, familyId, version] = reply;
        if (status === "rotated" && userId && familyId) {
          return { status, userId, familyId, passwordVersion: Number(version) };
        }
        if (status === "reused" && userId && familyId) return { status, userId, familyId };
        return { status: "invalid" };
      }),

    revokeFamilyOf: (token) =>
      withRedis(redis, async () => {
        const family = await familyOf(token);
        if (family) await client.del(familyKey(family));
      }),
  };
}
