import { defineService, type TokenVerifier } from "@shopstream/runtime";
import { configSchema } from "./config.js";
import { createLoginThrottle } from "./data-access/login-throttle.js";
import { migrations } from "./data-access/migrations.js";
import { createOwnerNotices } from "./data-access/owner-notices.js";
import { createRefreshTokenStore } from "./data-access/refresh-token-store.js";
import { createRevokedAccessTokens } from "./data-access/revoked-access-tokens.js";
import { createUserRepository } from "./data-access/user-repository.js";
import { createAccessTokens } from "./domain/access-tokens.js";
import { createAccounts } from "./domain/accounts.js";
import { createPasswordHasher } from "./domain/passwords.js";
import { authRoutes } from "./entry-points/http/auth-routes.js";

export const authService = defineService({
  name: "auth",
  configSchema,
  async create({ config, logger, metrics, openDb, openRedis }) {
    const db = await openDb(config, migrations);
    const redis = await openRedis(config);

    const tokens = await createAccessTokens({
      signingKeyPem: config.JWT_SIGNING_KEY,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    });
    const revokedAccessTokens = createRevokedAccessTokens(redis);
    const accounts = createAccounts({
      users: createUserRepository(db),
      refreshTokens: createRefreshTokenStore(redis, {
        tokenSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
        familySeconds: config.SESSION_MAX_AGE_SECONDS,
      }),
      revokedAccessTokens,
      throttle: createLoginThrottle(redis, {
        maxPerAccountAndAddress: config.LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS,
        maxPerAddress: config.LOGIN_MAX_FAILURES_PER_ADDRESS,
        maxPerAccount: config.LOGIN_MAX_FAILURES_PER_ACCOUNT,
        windowSeconds: config.LOGIN_THROTTLE_WINDOW_SECONDS,
      }),
      throttleWindowSeconds: config.LOGIN_THROTTLE_WINDOW_SECONDS,
      notices: createOwnerNotices(redis, {
        minIntervalSeconds: config.OWNER_NOTICE_INTERVAL_SECONDS,
        logger,
        sent: metrics.counter("shopstream_auth_owner_notices_total", "Security e-mails to account owners", [
          "notice",
        ]),
      }),
      passwords: await createPasswordHasher(),
      tokens,
      logger,
      logins: metrics.counter("shopstream_auth_logins_total", "Sign-in attempts by result", ["result"]),
      registrations: metrics.counter(
        "shopstream_auth_registrations_total",
        "Registrations: an account created, or the address was taken",
        ["result"],
      ),
      refreshes: metrics.counter("shopstream_auth_refreshes_total", "Refresh token rotations by result", [
        "result",
      ]),
    });
    await accounts.ensureAdmin(config.SHOPSTREAM_ADMIN_EMAIL, config.SHOPSTREAM_ADMIN_PASSWORD);

    // Auth checks its own tokens with its own key, and also refuses those signed out early.
    const verifier: TokenVerifier = {
      async verify(token) {
        const verified = await tokens.verify(token);
        if (await revokedAccessTokens.isRevoked(verified.jti)) throw new Error("access token was revoked");
        return verified.user;
      },
    };

    return {
      routes: (app) => authRoutes(app, { accounts, tokens, verifier }),
      readiness: {
        mariadb: () => db.query("SELECT 1"),
        redis: () => redis.client.ping(),
      },
      // Credentials and names are small; anything bigger is refused before it is parsed.
      bodyLimit: "16kb",
    };
  },
});
