import type { Redis } from "@shopstream/runtime";
import type { RevokedAccessTokens } from "../domain/ports.js";
import { withRedis } from "./redis-unavailable.js";

/** `revoked-access-token:<jti>`, kept until the token would have expired anyway. */
export function createRevokedAccessTokens(redis: Redis): RevokedAccessTokens {
  const key = (jti: string) => redis.key("revoked-access-token", jti);
  return {
    revoke: (jti, expiresAt) =>
      withRedis(redis, async () => {
        if (expiresAt * 1000 <= Date.now()) return;
        await redis.client.set(key(jti), "1", { expiration: { type: "EXAT", value: expiresAt } });
      }),
    isRevoked: (jti) => withRedis(redis, async () => (await redis.client.exists(key(jti))) === 1),
  };
}
