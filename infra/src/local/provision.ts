import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as mariadb from "mariadb";
import { type Platform, type SecretName, secretsOf, type Workload } from "../model/index.js";
import type { LocalEndpoints } from "./endpoints.js";

export interface LocalSecrets {
  dir: string;
  values: Partial<Record<SecretName, string>>;
  /** How the admin password was obtained, for the banner. */
  admin: { source: "env" | "generated" | "stored"; password: string; storedAt?: string };
  remove(): void;
}

const password = () => randomBytes(24).toString("base64url");

/**
 * Writes every secret the local workloads need as a file in a fresh 0700 temp folder (removed
 * at exit), the way containers receive them under /run/secrets. Database passwords and the
 * token key are new each run; the admin password comes from the environment or is generated
 * once and kept in `<stateDir>/admin-password` (0600).
 */
export function writeLocalSecrets(workloads: Workload[], stateDir: string, env = process.env): LocalSecrets {
  const dir = mkdtempSync(join(tmpdir(), "shopstream-secrets-"));
  chmodSync(dir, 0o700);
  const needed = new Set(workloads.flatMap(secretsOf));

  let admin: LocalSecrets["admin"];
  const stored = join(stateDir, "admin-password");
  if (env.SHOPSTREAM_ADMIN_PASSWORD_FILE) {
    admin = { source: "env", password: readFileSync(env.SHOPSTREAM_ADMIN_PASSWORD_FILE, "utf8").trim() };
  } else if (env.SHOPSTREAM_ADMIN_PASSWORD) {
    admin = { source: "env", password: env.SHOPSTREAM_ADMIN_PASSWORD };
  } else if (existsSync(stored)) {
    admin = { source: "stored", password: readFileSync(stored, "utf8").trim(), storedAt: stored };
  } else {
    mkdirSync(stateDir, { recursive: true });
    admin = { source: "generated", password: password(), storedAt: stored };
    writeFileSync(stored, `${admin.password}\n`, { mode: 0o600 });
  }

  const values: Partial<Record<SecretName, string>> = {};
  for (const name of needed) {
    if (name === "admin-password") values[name] = admin.password;
    else if (name === "jwt-signing-key") {
      values[name] = generateKeyPairSync("ed25519")
        .privateKey.export({ type: "pkcs8", format: "pem" })
        .toString();
    } else values[name] = password();
    writeFileSync(join(dir, name), values[name]!, { mode: 0o600 });
  }
  return { dir, values, admin, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One database and one user per owning service, granted only their own database. */
export async function provisionDatabases(
  platform: Platform,
  secrets: LocalSecrets,
  endpoints: LocalEndpoints,
) {
  const owned = platform.workloads.filter((w) => w.local).flatMap((w) => w.databases);
  const conn = await mariadb.createConnection({ ...endpoints.mariadb, connectTimeout: 5000 });
  try {
    for (const db of owned) {
      const pw = secrets.values[db.passwordSecret];
      if (!pw) throw new Error(`no password generated for ${db.user}`);
      await conn.query(
        `CREATE DATABASE IF NOT EXISTS \`${db.name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
      );
      for (const host of ["%", "localhost"]) {
        await conn.query("CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?", [db.user, host, pw]);
        await conn.query("ALTER USER ?@? IDENTIFIED BY ?", [db.user, host, pw]);
        await conn.query(`GRANT ALL PRIVILEGES ON \`${db.name}\`.* TO ?@?`, [db.user, host]);
      }
    }
  } finally {
    await conn.end();
  }
  return owned.map((d) => d.name);
}
