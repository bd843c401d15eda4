import { createHash } from "node:crypto";
import {
  KEY_PREFIX,
  type Platform,
  type RedisAccess,
  type RedisInstance,
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
 * The ACL file of one Redis instance: the `default` user off (a connection without a user's
 * password can run nothing), and one user per service that uses this instance
 * (`redisAclRules`). Holds password hashes, so it is a secret file. `passwords` maps each user's
 * password secret to its value.
 */
export function redisAcl(
  platform: Platform,
  instance: RedisInstance,
  passwords: Partial<Record<SecretName, string>>,
): string {
  const lines = ["user default off resetkeys resetchannels -@all"];
  for (const w of platform.workloads) {
    for (const access of w.redis ?? []) {
      if (access.instance !== instance) continue;
      const password = passwords[access.passwordSecret];
      if (!password) throw new Error(`no password for the Redis user of ${w.name} on ${instance}`);
      lines.push(
        `user ${access.user} ${redisAclRules(access, password, redisKeyPrefix(platform.settings)).join(" ")}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}
