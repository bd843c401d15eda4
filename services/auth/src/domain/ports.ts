import type { UserRecord } from "./user.js";

export interface UserStore {
  findByEmail(email: string): Promise<UserRecord | undefined>;
  findById(id: string): Promise<UserRecord | undefined>;
  /** Inserts a new user; false when the e-mail address is taken (nothing is written then). */
  insert(user: UserRecord): Promise<boolean>;
  /** Stores a new hash of the same password (stronger parameters): sessions go on. */
  updatePasswordHash(id: string, passwordHash: string): Promise<void>;
  /** Stores the hash of a new password and bumps the version; answers the new version. */
  changePassword(id: string, passwordHash: string): Promise<number>;
  /**
   * Creates `admin`, or gives the admin role to the account that already holds its e-mail;
   * atomic on the unique e-mail, so replicas starting together create one account.
   */
  upsertAdmin(admin: UserRecord): Promise<{ user: UserRecord; created: boolean }>;
}

export type RotationResult =
  /** `passwordVersion`: the user's password version when the family was started. */
  | { status: "rotated"; userId: string; familyId: string; passwordVersion: number }
  /** A spent token came back: its family has just been revoked. */
  | { status: "reused"; userId: string; familyId: string }
  /** Unknown, expired, or of a revoked family. */
  | { status: "invalid" };

/**
 * Refresh tokens by family (one sign-in): rotating spends a token; reusing a spent one revokes the
 * family. A family lives a fixed time from its start, which no rotation extends.
 */
export interface RefreshTokenStore {
  /** Stores the first token of a new family (a sign-in), under the user's current password version. */
  startFamily(token: string, userId: string, passwordVersion: number): Promise<void>;
  /** Spends `token` and stores `next` in its family, atomically. */
  rotate(token: string, next: string): Promise<RotationResult>;
  /** Revokes the family `token` belongs to (whether the token is spent or not). */
  revokeFamilyOf(token: string): Promise<void>;
}

/** Access tokens signed out before they expire; only auth itself consults it. */
export interface RevokedAccessTokens {
  revoke(jti: string, expiresAt: number): Promise<void>;
  isRevoked(jti: string): Promise<boolean>;
}

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Sign-in attempts, counted per (account, address), per address and per account in a fixed
 * window. It slows an account under attack down rather than locking it: an address that has not
 * guessed at the account may always try (OWASP Authentication Cheat Sheet, account lockout).
 */
export interface LoginThrottle {
  /** Counts one attempt, before the password is checked, so parallel guesses cannot slip past. */
  attempt(email: string, address: string): Promise<ThrottleVerdict>;
  /** The password was wrong; `crossedLimit` is true for exactly the failure that put the account under attack. */
  failed(email: string, address: string): Promise<{ accountFailures: number; crossedLimit: boolean }>;
  /** The attempt succeeded: this address starts afresh, and its earlier failures stop counting against the account. */
  succeeded(email: string, address: string): Promise<void>;
}

/** What an account's owner is told about its security. */
export type OwnerNotice =
  /** The account's sign-in failures (from every address) reached the limit in this window. */
  | { kind: "sign-in-failures"; failures: number; windowSeconds: number }
  /** Someone tried to register an account with the owner's address. */
  | { kind: "registration-attempt" }
  /** The password was changed; every session was ended. */
  | { kind: "password-changed" };

export interface OwnerNotices {
  /** Best effort and rate-limited per kind and account; never fails the request that caused it. */
  send(user: UserRecord, notice: OwnerNotice): Promise<void>;
}
