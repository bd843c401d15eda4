import { execFile } from "node:child_process";
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import amqplib from "amqplib";
import * as mariadb from "mariadb";
import { createClient } from "redis";
import { rabbitmqDefinitions, redisAclRules } from "../config-files/index.js";
import {
  brokerNames,
  KEY_PREFIX,
  type Platform,
  type SecretName,
  type SecretSpec,
  secretsOf,
  type Workload,
} from "../model/index.js";
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
 * once and kept in `<stateDir>/admin-password` (0600). `given` are secrets a developer's store
 * comes with (their MinIO's keys), written as they are.
 */
export function writeLocalSecrets(
  workloads: Workload[],
  stateDir: string,
  env = process.env,
  specs: SecretSpec[] = [],
  given: Partial<Record<SecretName, string>> = {},
): LocalSecrets {
  const dir = mkdtempSync(join(tmpdir(), "shopstream-secrets-"));
  chmodSync(dir, 0o700);
  const needed = new Set(workloads.flatMap(secretsOf));
  const specOf = (name: SecretName) => specs.find((x) => x.name === name);

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

  const values: Partial<Record<SecretName, string>> = { ...given };
  const ed25519 = () =>
    generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const generate = (name: SecretName): string => {
    const known = values[name];
    if (known !== undefined) return known;
    const spec = specOf(name);
    if (name === "admin-password") values[name] = admin.password;
    else if (name === "admin-email") values[name] = localAdminEmail(stateDir, env);
    else if (name === "jwt-signing-key" || spec?.kind === "ed25519-pem") values[name] = ed25519();
    else if (spec?.kind === "ed25519-public") {
      if (!spec.of) throw new Error(`${name} names no private key`);
      values[name] = createPublicKey(createPrivateKey(generate(spec.of)))
        .export({ type: "spki", format: "pem" })
        .toString();
    } else values[name] = password();
    return values[name]!;
  };
  // A public key's private half is generated even when no local process mounts it.
  for (const name of [...needed].sort()) {
    writeFileSync(join(dir, name), generate(name), { mode: 0o600 });
  }
  return { dir, values, admin, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One database and one user per owning service, granted only their own database. */
export async function provisionDatabases(
  platform: Platform,
  secrets: LocalSecrets,
  endpoints: LocalEndpoints,
  prefix = platform.settings.isolation ?? "",
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

/** The key prefix of a local run's services: `shopstream:`, with the isolation prefix after it. */
export const localKeyPrefix = (isolation = "") => `${KEY_PREFIX}${isolation}`;

const execFileText = (file: string, args: string[], input?: string) =>
  new Promise<string>((resolve, reject) => {
    const child = execFile(file, args, { timeout: 60_000 }, (err, stdout, stderr) =>
      err
        ? reject(new Error(`${[file, ...args].join(" ")}: ${(stderr || stdout || err.message).trim()}`))
        : resolve(stdout),
    );
    if (input !== undefined) child.stdin?.end(input);
  });

/** `rabbitmqctl`, on the node `LOCAL_RABBITMQ_NODE` names when the broker is not the default one. */
function rabbitmqctl(endpoints: LocalEndpoints, args: string[], input?: string) {
  const node = endpoints.rabbitmq.node ? ["-n", endpoints.rabbitmq.node] : [];
  return execFileText("rabbitmqctl", [...node, "-q", ...args], input);
}

/** The management API when `LOCAL_RABBITMQ_MANAGEMENT_URL` is set, as the admin user. */
async function management(endpoints: LocalEndpoints, method: string, path: string, body?: unknown) {
  const { managementUrl, user, password } = endpoints.rabbitmq;
  const res = await fetch(`${managementUrl!.replace(/\/$/, "")}${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
      "content-type": "application/json",
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok && res.status !== 404) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
}

export class BrokerProvisioningError extends Error {}

/**
 * Gives each service its own broker user on the developer's RabbitMQ, with the permissions the
 * containers' broker gives it, and declares the topology those users may not declare themselves:
 * the very definitions the containers import (`rabbitmqDefinitions`), under this run's isolation
 * prefix, imported with `rabbitmqctl` or through the management API.
 */
export async function provisionBroker(
  platform: Platform,
  secrets: LocalSecrets,
  endpoints: LocalEndpoints,
  isolation = platform.settings.isolation ?? "",
): Promise<void> {
  const definitions = rabbitmqDefinitions(
    platform,
    secrets.values,
    brokerNames(platform.messaging, isolation),
  );
  try {
    if (endpoints.rabbitmq.managementUrl)
      await management(endpoints, "POST", "/api/definitions", JSON.parse(definitions));
    else await rabbitmqctl(endpoints, ["import_definitions"], definitions);
  } catch (err) {
    throw new BrokerProvisioningError(
      `could not create the services' RabbitMQ users (${(err as Error).message}). The local run gives each service its own broker user: run it as a user who may use rabbitmqctl on the broker's node (set LOCAL_RABBITMQ_NODE for another node), or set LOCAL_RABBITMQ_MANAGEMENT_URL to use the management plugin as ${endpoints.rabbitmq.user}.`,
    );
  }
}

/**
 * Gives each service its own Redis ACL users on the developer's Redis (`redisAclRules`): the
 * users of both instances, since that one Redis plays both (their names differ).
 */
export async function provisionRedis(
  platform: Platform,
  secrets: LocalSecrets,
  endpoints: LocalEndpoints,
  isolation = platform.settings.isolation ?? "",
): Promise<void> {
  const redis = adminRedis(endpoints);
  await redis.connect();
  try {
    for (const access of platform.workloads.flatMap((x) => (x.local && x.redis) || [])) {
      const password = secrets.values[access.passwordSecret];
      if (!password) throw new Error(`no password generated for ${access.user}`);
      await redis.sendCommand([
        "ACL",
        "SETUSER",
        access.user,
        ...redisAclRules(access, password, localKeyPrefix(isolation)),
      ]);
    }
  } finally {
    await redis.close();
  }
}

function adminRedis(endpoints: LocalEndpoints) {
  const { host, port, user, password } = endpoints.redis;
  return createClient({
    socket: { host, port },
    ...(user ? { username: user } : {}),
    ...(password ? { password } : {}),
  });
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
  const services = platform.workloads.filter((w) => w.local);
  const redis = adminRedis(endpoints);
  await redis.connect();
  for await (const keys of redis.scanIterator({ MATCH: `${localKeyPrefix(prefix)}*`, COUNT: 500 })) {
    if (keys.length) await redis.del(keys);
  }
  for (const access of services.flatMap((w) => w.redis ?? []))
    await redis.sendCommand(["ACL", "DELUSER", access.user]);
  await redis.close();
  await removeIsolatedBroker(platform, endpoints, prefix);
}

/** Removes an isolated run's broker users, queues and exchanges. */
export async function removeIsolatedBroker(platform: Platform, endpoints: LocalEndpoints, prefix: string) {
  if (!prefix) throw new Error("refusing to remove the broker data of a run without an isolation prefix");
  const brokerUsers = platform.workloads.flatMap((w) => (w.local && w.broker ? [w.broker.user] : []));
  if (endpoints.rabbitmq.managementUrl)
    await management(endpoints, "POST", "/api/users/bulk-delete", { users: brokerUsers });
  else
    await Promise.all(
      brokerUsers.map((u) => rabbitmqctl(endpoints, ["delete_user", u]).catch(() => undefined)),
    );
  const { host, port, user, password } = endpoints.rabbitmq;
  const amqp = await amqplib.connect({ hostname: host, port, username: user, password });
  const ch = await amqp.createChannel();
  for (const q of platform.messaging.queues) {
    for (const suffix of ["", ".retry", ".dead"]) await ch.deleteQueue(`${prefix}${q.name}${suffix}`);
  }
  const names = brokerNames(platform.messaging, prefix);
  for (const exchange of [names.exchange, names.deadLetterExchange, names.retryExchange])
    await ch.deleteExchange(exchange);
  await amqp.close();
}
