import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import amqplib from "amqplib";
import * as mariadb from "mariadb";
import { createClient } from "redis";
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
 * The admin's e-mail for the local run: `SHOPSTREAM_ADMIN_EMAIL`, else the one generated on the
 * first run and kept in `<stateDir>/admin-email` (`admin-<random>@shopstream.local`), so nobody
 * can guess the address of the account that runs the shop.
 */
export function localAdminEmail(stateDir: string, env = process.env): string {
  if (env.SHOPSTREAM_ADMIN_EMAIL) return env.SHOPSTREAM_ADMIN_EMAIL;
  const stored = join(stateDir, "admin-email");
  if (existsSync(stored)) return readFileSync(stored, "utf8").trim();
  const email = `admin-${randomBytes(6).toString("hex")}@shopstream.local`;
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(stored, `${email}\n`, { mode: 0o600 });
  return email;
}

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
    else if (name === "admin-email") values[name] = localAdminEmail(stateDir, env);
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
  prefix = "",
) {
  const owned = ownedDatabases(platform, prefix);
  const conn = await mariadb.createConnection({ ...endpoints.mariadb, connectTimeout: 5000 });
  try {
    for (const db of owned) {
      const pw = secrets.values[db.passwordSecret];
      if (!pw) throw new Error(`no password generated for ${db.user}`);
      // Names are the model's own or a validated prefix of letters, digits and _, never input.
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

/** The databases of the local run's services, under an optional isolation prefix. */
export function ownedDatabases(platform: Platform, prefix = "") {
  return platform.workloads
    .filter((w) => w.local)
    .flatMap((w) => w.databases)
    .map((d) => ({ ...d, name: `${prefix}${d.name}`, user: `${prefix}${d.user}` }));
}

/** Removes what an isolated run (tests, benchmark) created: its databases, users, keys and queues. */
export async function removeIsolatedData(platform: Platform, endpoints: LocalEndpoints, prefix: string) {
  if (!prefix) throw new Error("refusing to remove the data of a run without an isolation prefix");
  const conn = await mariadb.createConnection({ ...endpoints.mariadb, connectTimeout: 5000 });
  try {
    for (const db of ownedDatabases(platform, prefix)) {
      await conn.query(`DROP DATABASE IF EXISTS \`${db.name}\``);
      for (const host of ["%", "localhost"]) await conn.query("DROP USER IF EXISTS ?@?", [db.user, host]);
    }
  } finally {
    await conn.end();
  }
  const redis = createClient({ socket: { host: endpoints.redis.host, port: endpoints.redis.port } });
  await redis.connect();
  for await (const keys of redis.scanIterator({ MATCH: `shopstream:${prefix}*`, COUNT: 500 })) {
    if (keys.length) await redis.del(keys);
  }
  await redis.close();
  const { host, port, user, password } = endpoints.rabbitmq;
  const amqp = await amqplib.connect({ hostname: host, port, username: user, password });
  const ch = await amqp.createChannel();
  for (const q of platform.messaging.queues) {
    for (const suffix of ["", ".retry", ".dead"]) await ch.deleteQueue(`${prefix}${q.name}${suffix}`);
  }
  await ch.deleteExchange(`${prefix}${platform.messaging.exchange}`);
  await ch.deleteExchange(`${prefix}${platform.messaging.deadLetterExchange}`);
  await amqp.close();
}
