import { createHash } from "node:crypto";
import {
  KEY_PREFIX,
  type Platform,
  type RedisAccess,
  redisKeyPrefix,
  type SecretName,
} from "../model/index.js";

/** The key prefix every service of a platform without an isolation prefix writes under. */
export const REDIS_KEY_PREFIX = KEY_PREFIX;

/**
 * One service's ACL rules after its user name: on, its password's SHA-256, its key families
 * under `keyPrefix`, its pub/sub channels, and its commands, nothing else (`reset` first, so an
 * existing user of that name keeps nothing it had).
 */
export function redisAclRules(access: RedisAccess, password: string, keyPrefix = REDIS_KEY_PREFIX): string[] {
  const sha = createHash("sha256").update(password, "utf8").digest("hex");
  return [
    "reset",
    "on",
    `#${sha}`,
    ...access.keys.map((family) => `~${keyPrefix}${family}:*`),
    "resetchannels",
    ...access.channels.map((channel) => `&${keyPrefix}${channel}`),
    "-@all",
    ...access.commands.map((c) => `+${c}`),
  ];
}

/**
 * Redis ACL file: the `default` user off (a connection without a user's password can run
 * nothing), and one user per service (`redisAclRules`). Holds password hashes, so it is a
 * secret file. `passwords` maps each user's password secret to its value.
 */
export function redisAcl(platform: Platform, passwords: Partial<Record<SecretName, string>>): string {
  const lines = ["user default off resetkeys resetchannels -@all"];
  for (const w of platform.workloads) {
    if (!w.redis) continue;
    const password = passwords[w.redis.passwordSecret];
    if (!password) throw new Error(`no password for the Redis user of ${w.name}`);
    lines.push(
      `user ${w.redis.user} ${redisAclRules(w.redis, password, redisKeyPrefix(platform.settings)).join(" ")}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
