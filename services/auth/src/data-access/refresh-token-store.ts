import { createHash, randomUUID } from "node:crypto";
import type { Redis } from "@shopstream/runtime";
import type { RefreshTokenStore, RotationResult } from "../domain/stores.js";
import { withRedis } from "./redis-unavailable.js";

/**
 * Layout, all under the service's key prefix:
 *   refresh-token:<sha256 of the token>  hash {user, family, spent}   TTL = token lifetime
 *   refresh-family:<family id>           the user id                  TTL renewed by each rotation
 * A token is good while it is unspent and its family key exists; revoking a family is one DEL.
 * Spent tokens keep their TTL, so a reuse is recognised for as long as the token would have lived.
 */
const ROTATE = `
local user = redis.call('HGET', KEYS[1], 'user')
if not user then return {'invalid'} end
local family = redis.call('HGET', KEYS[1], 'family')
if redis.call('EXISTS', KEYS[3]) == 0 then return {'invalid'} end
if redis.call('HGET', KEYS[1], 'spent') == '1' then
  redis.call('DEL', KEYS[3])
  return {'reused', user, family}
end
redis.call('HSET', KEYS[1], 'spent', '1')
redis.call('HSET', KEYS[2], 'user', user, 'family', family, 'spent', '0')
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[1])
return {'rotated', user, family}
`;

const sha256 = (token: string) => createHash("sha256").update(token).digest("hex");

export function createRefreshTokenStore(redis: Redis, ttlSeconds: number): RefreshTokenStore {
  const { client } = redis;
  const tokenKey = (token: string) => redis.key("refresh-token", sha256(token));
  const familyKey = (family: string) => redis.key("refresh-family", family);
  const familyOf = (token: string) => client.hGet(tokenKey(token), "family");

  return {
    startFamily: (token, userId) =>
      withRedis(redis, async () => {
        const family = randomUUID();
        await client
          .multi()
          .set(familyKey(family), userId, { expiration: { type: "EX", value: ttlSeconds } })
          .hSet(tokenKey(token), { user: userId, family, spent: "0" })
          .expire(tokenKey(token), ttlSeconds)
          .exec();
      }),

    rotate: (token, next) =>
      withRedis(redis, async (): Promise<RotationResult> => {
        // The family is fixed when a token is stored, so reading it first cannot race.
        const family = await familyOf(token);
        if (!family) return { status: "invalid" };
        const reply = (await client.eval(ROTATE, {
          keys: [tokenKey(token), tokenKey(next), familyKey(family)],
          arguments: [String(ttlSeconds)],
        })) as [string, string?, string?];
        const [status, userId, familyId] = reply;
        if ((status === "rotated" || status === "reused") && userId && familyId) {
          return { status, userId, familyId };
        }
        return { status: "invalid" };
      }),

    revokeFamilyOf: (token) =>
      withRedis(redis, async () => {
        const family = await familyOf(token);
        if (family) await client.del(familyKey(family));
      }),
  };
}
