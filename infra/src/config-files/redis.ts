import { createHash } from "node:crypto";

/**
 * Redis ACL file: the `default` user (the one `AUTH <password>` logs in as) with the SHA-256 of
 * its password, full access. Holds a password hash, so it is a secret file.
 */
export function redisAcl(password: string): string {
  const sha = createHash("sha256").update(password, "utf8").digest("hex");
  return `user default on #${sha} ~* &* +@all\n`;
}
