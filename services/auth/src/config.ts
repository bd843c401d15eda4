import { createPrivateKey } from "node:crypto";
import { commonEnv, dbEnv, env, redisEnv, tokenEnv } from "@shopstream/runtime";
import { z } from "zod";
import { emailSchema, passwordSchema } from "./domain/user.js";

const DAY = 86_400;

function isEd25519PrivateKey(pem: string): boolean {
  try {
    return createPrivateKey(pem).asymmetricKeyType === "ed25519";
  } catch {
    return false;
  }
}

export const configSchema = z.object({
  ...commonEnv,
  ...dbEnv,
  ...redisEnv,
  // Auth signs the tokens others verify: it needs the issuer and audience, not a JWKS URL.
  JWT_ISSUER: tokenEnv.JWT_ISSUER,
  JWT_AUDIENCE: tokenEnv.JWT_AUDIENCE,
  PORT: env.port(),
  /** Arrives as JWT_SIGNING_KEY_FILE (a secret file). */
  JWT_SIGNING_KEY: z.string().refine(isEd25519PrivateKey, "must be an Ed25519 private key in PEM (PKCS#8)"),
  /** Access tokens live at most 15 minutes: other services cannot revoke them. */
  ACCESS_TOKEN_TTL_SECONDS: env.int(60, 900),
  /** How long a refresh token lives unused: a session idle this long ends. */
  REFRESH_TOKEN_TTL_SECONDS: env.int(300, 90 * DAY, 14 * DAY),
  /** How long a session (one sign-in) lives at most, however often its refresh token rotates. */
  SESSION_MAX_AGE_SECONDS: env.int(300, 365 * DAY, 30 * DAY),
  SHOPSTREAM_ADMIN_EMAIL: emailSchema,
  /** Arrives as SHOPSTREAM_ADMIN_PASSWORD_FILE; held to the same policy as every password. */
  SHOPSTREAM_ADMIN_PASSWORD: passwordSchema,
  /** Guesses one address may make at one account per window (one while the account is under attack). */
  LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS: env.int(1, 1000, 5),
  /** Failures of one address across all accounts per window (password spraying). */
  LOGIN_MAX_FAILURES_PER_ADDRESS: env.int(1, 100_000, 20),
  /** Failures against one account from every address that put it under attack (and tell its owner). */
  LOGIN_MAX_FAILURES_PER_ACCOUNT: env.int(1, 100_000, 5),
  LOGIN_THROTTLE_WINDOW_SECONDS: env.int(1, DAY, 900),
  /** At most one security e-mail of a kind per account in this time. */
  OWNER_NOTICE_INTERVAL_SECONDS: env.int(1, 30 * DAY, 3600),
});

export type AuthConfig = z.output<typeof configSchema>;
