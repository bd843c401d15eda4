import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import argon2 from "argon2";

/** OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane. */
export const ARGON2_PARAMS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /**
   * Without a hash (an unknown account) the password is checked against a dummy hash anyway,
   * so the answer takes as long as for an account that exists.
   */
  verify(hash: string | undefined, password: string): Promise<boolean>;
  /** True when the hash was made with other parameters (or another variant) than today's. */
  needsRehash(hash: string): boolean;
}

/**
 * Runs at most `limit` jobs at once, the rest in arrival order. Each argon2 job holds 19 MiB
 * while it runs on libuv's pool (4 threads): more of them at once than there are cores adds no
 * throughput, only memory (bench/README.md, "Memory").
 */
export function concurrencyLimit(limit: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(job: () => Promise<T>): Promise<T> => {
    // A finishing job hands its slot straight to the next one in line.
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running += 1;
    try {
      return await job();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
}

export async function createPasswordHasher(
  concurrency = Math.min(4, availableParallelism()),
): Promise<PasswordHasher> {
  const limit = concurrencyLimit(concurrency);
  const hash = (password: string | Buffer) =>
    limit(() => argon2.hash(password, { type: argon2.argon2id, ...ARGON2_PARAMS }));
  const dummy = await hash(randomBytes(32));
  return {
    hash,
    async verify(stored, password) {
      try {
        const matches = await limit(() => argon2.verify(stored ?? dummy, password));
        return stored !== undefined && matches;
      } catch {
        // A stored value that is not an argon2 hash matches no password.
        return false;
      }
    },
    needsRehash: (stored) => !stored.startsWith("$argon2id$") || argon2.needsRehash(stored, ARGON2_PARAMS),
  };
}
