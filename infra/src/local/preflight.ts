import amqplib from "amqplib";
import * as mariadb from "mariadb";
import { createClient } from "redis";
import type { LocalEndpoints } from "./endpoints.js";

export interface PreflightFailure {
  store: string;
  where: string;
  error: string;
  howToStart: string;
}

/** The commands this kind of machine documents for starting each store. */
const HOW_TO_START = {
  MariaDB: "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
  Redis:
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis',
  RabbitMQ: "rabbitmq-server -detached",
};

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)),
  ]);

/** Connects to each data store the way the services will; reports every one that fails. */
export async function preflight(endpoints: LocalEndpoints): Promise<PreflightFailure[]> {
  const checks: [keyof typeof HOW_TO_START, string, () => Promise<void>][] = [
    [
      "MariaDB",
      `${endpoints.mariadb.host}:${endpoints.mariadb.port} as ${endpoints.mariadb.user}`,
      async () => {
        const conn = await mariadb.createConnection({ ...endpoints.mariadb, connectTimeout: 3000 });
        await conn.query("SELECT 1");
        await conn.end();
      },
    ],
    [
      "Redis",
      `${endpoints.redis.host}:${endpoints.redis.port}`,
      async () => {
        const client = createClient({
          socket: {
            host: endpoints.redis.host,
            port: endpoints.redis.port,
            connectTimeout: 3000,
            reconnectStrategy: false,
          },
        });
        client.on("error", () => undefined);
        await client.connect();
        await client.ping();
        await client.close();
      },
    ],
    [
      "RabbitMQ",
      `${endpoints.rabbitmq.host}:${endpoints.rabbitmq.port} as ${endpoints.rabbitmq.user}`,
      async () => {
        const { host, port, user, password } = endpoints.rabbitmq;
        const conn = await amqplib.connect(
          { hostname: host, port, username: user, password },
          { timeout: 3000 },
        );
        await conn.close();
      },
    ],
  ];
  const results: (PreflightFailure | undefined)[] = await Promise.all(
    checks.map(async ([store, where, check]) => {
      try {
        await withTimeout(check(), 5000);
        return undefined;
      } catch (err) {
        return {
          store,
          where,
          error: (err as Error).message || String(err),
          howToStart: HOW_TO_START[store],
        };
      }
    }),
  );
  return results.filter((r): r is PreflightFailure => r !== undefined);
}
