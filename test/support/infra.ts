import { randomBytes } from "node:crypto";
import amqplib from "amqplib";
import * as mariadb from "mariadb";
import { createClient } from "redis";

/** Where the tests find this machine's MariaDB, Redis and RabbitMQ (overridable by env). */
export const TEST_INFRA = {
  mariadb: {
    host: process.env.TEST_MARIADB_HOST ?? "127.0.0.1",
    port: Number(process.env.TEST_MARIADB_PORT ?? 3306),
    user: process.env.TEST_MARIADB_USER ?? "root",
    password: process.env.TEST_MARIADB_PASSWORD ?? "",
  },
  redisUrl: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
  amqpUrl: process.env.TEST_AMQP_URL ?? "amqp://127.0.0.1:5672",
  amqpUser: process.env.TEST_AMQP_USER ?? "guest",
  amqpPassword: process.env.TEST_AMQP_PASSWORD ?? "guest",
};

export const uniqueId = (label: string) =>
  `${label.replace(/[^a-z0-9]/gi, "").toLowerCase()}_${randomBytes(4).toString("hex")}`;

export async function rootConnection(database?: string) {
  return mariadb.createConnection({
    ...TEST_INFRA.mariadb,
    ...(database ? { database } : {}),
    bigIntAsNumber: true,
    // The connector's default (1 s) is shorter than a socket takes on a loaded 2-core machine;
    // the services' pools allow 5 s (services/runtime/src/db.ts). An upper bound, not a wait.
    connectTimeout: 10_000,
  });
}

/** A database of the test file's own, dropped afterwards. */
export async function createTestDatabase(label: string) {
  const name = `t_${uniqueId(label)}`;
  const conn = await rootConnection();
  await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await conn.end();
  return {
    name,
    env: {
      DB_HOST: TEST_INFRA.mariadb.host,
      DB_PORT: String(TEST_INFRA.mariadb.port),
      DB_NAME: name,
      DB_USER: TEST_INFRA.mariadb.user,
      DB_PASSWORD: TEST_INFRA.mariadb.password,
    },
    async query<T = unknown>(sql: string, params: unknown[] = []): Promise<T> {
      const c = await rootConnection(name);
      try {
        return (await c.query(sql, params)) as T;
      } finally {
        await c.end();
      }
    },
    async drop() {
      const c = await rootConnection();
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}

export type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

/** A Redis key prefix of the test file's own (or `prefix`); `cleanup` deletes every key under it. */
export function testRedis(label: string, prefix = `test:${uniqueId(label)}:`) {
  return {
    prefix,
    env: { REDIS_URL: TEST_INFRA.redisUrl, REDIS_KEY_PREFIX: prefix },
    async cleanup() {
      const client = createClient({ url: TEST_INFRA.redisUrl });
      await client.connect();
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
        if (keys.length) await client.del(keys);
      }
      await client.close();
    },
  };
}

/** An exchange and queue-name prefix of the test file's own on the shared broker. */
export function testBroker(label: string) {
  const id = uniqueId(label);
  const exchange = `test.${id}.events`;
  const queuePrefix = `test.${id}.`;
  return {
    exchange,
    queuePrefix,
    env: {
      AMQP_URL: TEST_INFRA.amqpUrl,
      AMQP_USER: TEST_INFRA.amqpUser,
      AMQP_PASSWORD: TEST_INFRA.amqpPassword,
      AMQP_VHOST: "/",
      AMQP_EXCHANGE: exchange,
      AMQP_QUEUE_PREFIX: queuePrefix,
      // The shared admin user declares this file's exchanges and queues itself.
      AMQP_DECLARE_TOPOLOGY: "true",
    },
    /** Deletes the exchanges and, for each consumer queue named, its main, retry and dead queues. */
    async cleanup(queues: string[]) {
      const conn = await amqplib.connect(amqpUrl());
      const ch = await conn.createChannel();
      for (const q of queues) {
        for (const suffix of ["", ".retry", ".dead"]) await ch.deleteQueue(`${queuePrefix}${q}${suffix}`);
      }
      await ch.deleteExchange(exchange);
      await ch.deleteExchange(`${exchange}.dlx`);
      await ch.deleteExchange(`${exchange}.retry`);
      await ch.close();
      await conn.close();
    },
  };
}

export function amqpUrl(): string {
  const url = new URL(TEST_INFRA.amqpUrl);
  url.username = TEST_INFRA.amqpUser;
  url.password = TEST_INFRA.amqpPassword;
  return url.toString();
}
