import { randomBytes, randomUUID } from "node:crypto";
import { forbidden, type Logger, tooManyRequests, unauthorized } from "@shopstream/runtime";
import type { AccessTokens } from "./access-tokens.js";
import type { PasswordHasher } from "./passwords.js";
import type {
  LoginThrottle,
  OwnerNotice,
  OwnerNotices,
  RefreshTokenStore,
  RevokedAccessTokens,
  UserStore,
} from "./ports.js";
import { toUserJson, type UserJson, type UserRecord } from "./user.js";

export interface Session {
  user: UserJson;
  accessToken: string;
  refreshToken: string;
}

interface ResultCounter {
  inc(labels: { result: string }): void;
}

export interface AccountDeps {
  users: UserStore;
  refreshTokens: RefreshTokenStore;
  revokedAccessTokens: RevokedAccessTokens;
  throttle: LoginThrottle;
  throttleWindowSeconds: number;
  notices: OwnerNotices;
  passwords: PasswordHasher;
  tokens: AccessTokens;
  logger: Logger;
  logins: ResultCounter;
  registrations: ResultCounter;
  refreshes: ResultCounter;
}

/** The same answer whether the account exists or not: a caller cannot probe for addresses. */
export const WRONG_CREDENTIALS = "The e-mail address or the password is wrong";
const INVALID_REFRESH = "The refresh token is invalid, expired or revoked; sign in again";

/** 32 random bytes: opaque to clients, stored by the server only as a SHA-256. */
export const newRefreshToken = () => randomBytes(32).toString("base64url");

export function createAccounts(deps: AccountDeps) {
  const { users, refreshTokens, passwords, tokens, logger } = deps;

  const openSession = async (user: UserRecord): Promise<Session> => {
    const refreshToken = newRefreshToken();
    await refreshTokens.startFamily(refreshToken, user.id, user.passwordVersion);
    return { user: toUserJson(user), accessToken: await tokens.sign(user), refreshToken };
  };

  /** Sent in the background: the answer takes as long whether or not there is an owner to tell. */
  const tellOwner = (user: UserRecord, notice: OwnerNotice) => {
    void deps.notices.send(user, notice);
  };

  return {
    /**
     * Creates a customer account, or, when the address already has one, changes nothing and
     * tells its owner. Both take one argon2id hash and one insert and answer alike, so a caller
     * cannot tell which happened; the new customer signs in next.
     */
    async register(input: { email: string; password: string; name: string }): Promise<void> {
      const user: UserRecord = {
        id: randomUUID(),
        email: input.email,
        name: input.name,
        role: "customer",
        passwordHash: await passwords.hash(input.password),
        passwordVersion: 0,
      };
      // The unique key decides: no lookup first, which would answer a taken address sooner.
      if (await users.insert(user)) {
        deps.registrations.inc({ result: "created" });
        logger.info({ userId: user.id }, "account registered");
        return;
      }
      deps.registrations.inc({ result: "taken" });
      void users
        .findByEmail(input.email)
        .then((owner) => {
          if (!owner) return;
          logger.info({ userId: owner.id }, "a registration named an existing account's address");
          tellOwner(owner, { kind: "registration-attempt" });
        })
        .catch((err: Error) =>
          logger.warn({ err: err.message }, "could not look up a taken address's owner"),
        );
    },

    async login(input: { email: string; password: string }, address: string): Promise<Session> {
      const verdict = await deps.throttle.attempt(input.email, address);
      if (!verdict.allowed) {
        deps.logins.inc({ result: "throttled" });
        throw tooManyRequests("Too many failed sign-in attempts; try again later", verdict.retryAfterSeconds);
      }
      const user = await users.findByEmail(input.email);
      // Always one argon2 verification, so timing tells nothing about whether the account exists.
      const matches = await passwords.verify(user?.passwordHash, input.password);
      if (!user || !matches) {
        deps.logins.inc({ result: "failure" });
        const { accountFailures, crossedLimit } = await deps.throttle.failed(input.email, address);
        if (crossedLimit && user) {
          logger.warn(
            { userId: user.id, failures: accountFailures },
            "an account is under a guessing attack",
          );
          tellOwner(user, {
            kind: "sign-in-failures",
            failures: accountFailures,
            windowSeconds: deps.throttleWindowSeconds,
          });
        }
        throw unauthorized(WRONG_CREDENTIALS);
      }
      await deps.throttle.succeeded(input.email, address);
      if (passwords.needsRehash(user.passwordHash)) {
        user.passwordHash = await passwords.hash(input.password);
        await users.updatePasswordHash(user.id, user.passwordHash);
        logger.info({ userId: user.id }, "password rehashed with the current parameters");
      }
      deps.logins.inc({ result: "success" });
      return openSession(user);
    },

    async refresh(refreshToken: string): Promise<Session> {
      const next = newRefreshToken();
      const rotation = await refreshTokens.rotate(refreshToken, next);
      if (rotation.status === "reused") {
        deps.refreshes.inc({ result: "reused" });
        logger.warn(
          { userId: rotation.userId, family: rotation.familyId },
          "a spent refresh token was used again; its family is revoked",
        );
        throw unauthorized(INVALID_REFRESH);
      }
      if (rotation.status === "invalid") {
        deps.refreshes.inc({ result: "invalid" });
        throw unauthorized(INVALID_REFRESH);
      }
      const user = await users.findById(rotation.userId);
      // A family started before the password last changed is over (every device signs in again).
      if (!user || user.passwordVersion !== rotation.passwordVersion) {
        await refreshTokens.revokeFamilyOf(next);
        deps.refreshes.inc({ result: "invalid" });
        throw unauthorized(INVALID_REFRESH);
      }
      deps.refreshes.inc({ result: "rotated" });
      return { user: toUserJson(user), accessToken: await tokens.sign(user), refreshToken: next };
    },

    /**
     * Ends the session of `refreshToken` (its whole family). A valid access token sent along is
     * revoked too, for auth's own checks; other services honour it until it expires (≤ 15 min).
     */
    async logout(refreshToken: string, accessToken: string | undefined): Promise<void> {
      await refreshTokens.revokeFamilyOf(refreshToken);
      if (!accessToken) return;
      // An expired or foreign access token does not stand in the way of signing out.
      const verified = await tokens.verify(accessToken).catch(() => undefined);
      if (verified) await deps.revokedAccessTokens.revoke(verified.jti, verified.exp);
    },

    async me(userId: string): Promise<UserJson> {
      const user = await users.findById(userId);
      if (!user) throw unauthorized("The account of this access token no longer exists");
      return toUserJson(user);
    },

    /**
     * Changes the signed-in user's password, given the current one (throttled like a sign-in from
     * `address`). Every session of the user ends; the caller gets a new one.
     */
    async changePassword(
      userId: string,
      input: { currentPassword: string; newPassword: string },
      address: string,
    ): Promise<Session> {
      const user = await users.findById(userId);
      if (!user) throw unauthorized("The account of this access token no longer exists");
      const verdict = await deps.throttle.attempt(user.email, address);
      if (!verdict.allowed) {
        throw tooManyRequests("Too many failed attempts; try again later", verdict.retryAfterSeconds);
      }
      if (!(await passwords.verify(user.passwordHash, input.currentPassword))) {
        await deps.throttle.failed(user.email, address);
        throw forbidden("The current password is wrong");
      }
      await deps.throttle.succeeded(user.email, address);
      user.passwordHash = await passwords.hash(input.newPassword);
      user.passwordVersion = await users.changePassword(user.id, user.passwordHash);
      logger.info({ userId: user.id }, "password changed; every session of the account ended");
      tellOwner(user, { kind: "password-changed" });
      return openSession(user);
    },

    /**
     * Creates the admin account, or brings it in line with the configured password and role.
     * A new password in the config is a password change: every admin session ends. Idempotent
     * across restarts and across replicas starting together.
     */
    async ensureAdmin(email: string, password: string): Promise<void> {
      const passwordHash = await passwords.hash(password);
      const { user, created } = await users.upsertAdmin({
        id: randomUUID(),
        email,
        name: "Administrator",
        role: "admin",
        passwordHash,
        passwordVersion: 0,
      });
      if (created) {
        logger.info({ userId: user.id }, "admin account created");
        return;
      }
      if (!(await passwords.verify(user.passwordHash, password))) {
        await users.changePassword(user.id, passwordHash);
        logger.info({ userId: user.id }, "admin account password changed; every admin session ended");
        tellOwner(user, { kind: "password-changed" });
      } else if (passwords.needsRehash(user.passwordHash)) {
        await users.updatePasswordHash(user.id, passwordHash);
        logger.info({ userId: user.id }, "admin account password rehashed with the current parameters");
      }
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
