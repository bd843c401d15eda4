import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Express } from "express";
import pRetry from "p-retry";
import { Gauge } from "prom-client";
import type { z } from "zod";
import { createTokenVerifier, type TokenVerifier } from "./auth.js";
import { ConfigError, loadConfig } from "./config.js";
import { createDb, type Db, type DbConfig, type Migration, migrate } from "./db.js";
import { createHttpApp, type ReadinessCheck, runChecks } from "./http.js";
import { createLogger, type Logger, serviceVersion } from "./logger.js";
import { type AmqpConfig, type Broker, connectBroker } from "./messaging.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { createRedis, type Redis, type RedisConfig, type RedisOptions } from "./redis.js";
import { internalGuard, loadServiceTokenConfig, type ServiceTokenSigner } from "./service-tokens.js";
import { answerClaimedFirst, nameServer, startTracing, tracingSettings } from "./tracing.js";

export interface ServiceContext<C> {
  name: string;
  config: Readonly<C>;
  logger: Logger;
  metrics: Metrics;
  /**
   * Registers a closer run at shutdown after HTTP has drained, last registered first: create
   * pools before consumers and they close after them.
   */
  onStop(name: string, close: () => Promise<unknown> | unknown): void;
  /** Retries a start-up connection with backoff (a dependency that starts later is normal). */
  connect<T>(what: string, attempt: () => Promise<T>): Promise<T>;
  /** Opens the MariaDB pool, applies the migrations (waiting for the server), closes it at stop. */
  openDb(config: DbConfig, migrations: Migration[]): Promise<Db>;
  /**
   * Connects to Redis (waiting for it, unless `waitForServer` is false: a cache the service
   * answers without) and closes it at stop.
   */
  openRedis(config: RedisConfig, options?: RedisOptions): Promise<Redis>;
  /** Connects to RabbitMQ (reconnecting in the background) and closes it at stop. */
  openBroker(config: AmqpConfig): Broker;
  /** Verifies access tokens against the auth service's JWKS. */
  tokenVerifier(config: { JWKS_URL: string; JWT_ISSUER: string; JWT_AUDIENCE: string }): TokenVerifier;
  /**
   * Signs service tokens for other services' internal routes (`SERVICE_TOKEN_KEY`); a
   * ConfigError when this service was given no key.
   */
  serviceTokens(): ServiceTokenSigner;
}

export interface ServiceParts {
  routes: (app: Express) => void;
  /** What the service cannot answer without: `/ready` fails (the replica leaves its Service) while one fails. */
  readiness: Record<string, ReadinessCheck>;
  /**
   * What it answers without, degraded: `/health` details and `shopstream_dependency_up`, never
   * `/ready` (an outage of a cache must not take every replica out of its Service).
   */
  degradable?: Record<string, ReadinessCheck>;
  /** Runs once the HTTP server listens: start consumers, relays, timers. */
  afterListen?: (server: Server) => Promise<void> | void;
  /**
   * Runs at shutdown once the server stopped accepting, before HTTP drains: close long-lived
   * connections (WebSockets) here, since the drain waits for every open connection.
   */
  beforeDrain?: () => Promise<void> | void;
  bodyLimit?: string;
  parseJson?: boolean;
  /**
   * A hot path that must not pay for the framework (the gateway's cached catalog reads): the
   * requests `claims` accepts go to `handle` instead of Express, and skip the HTTP
   * instrumentation too; `handle` traces them itself (`traceRequest`).
   */
  front?: {
    claims(req: IncomingMessage): boolean;
    handle(req: IncomingMessage, res: ServerResponse): void;
  };
}

export interface ServiceDefinition<S extends z.ZodType> {
  name: string;
  configSchema: S;
  create(ctx: ServiceContext<z.output<S>>): Promise<ServiceParts>;
}

export function defineService<S extends z.ZodType>(definition: ServiceDefinition<S>): ServiceDefinition<S> {
  return definition;
}

export interface RunningService<C> {
  name: string;
  config: Readonly<C>;
  url: string;
  port: number;
  server: Server;
  app: Express;
  logger: Logger;
  metrics: Metrics;
  /** Graceful stop: stop accepting, finish in-flight requests, then the registered closers. */
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  /** 0 picks a free port (tests). Defaults to the config's PORT. */
  port?: number;
  host?: string;
  logger?: Logger;
}

export async function startService<S extends z.ZodType>(
  definition: ServiceDefinition<S>,
  options: StartOptions = {},
): Promise<RunningService<z.output<S>>> {
  const config = loadConfig(definition.configSchema, options.env ?? process.env) as Readonly<
    z.output<S> & { LOG_LEVEL?: string; PORT?: number; SHUTDOWN_TIMEOUT_MS?: number; HOST?: string }
  >;
  const tokens = loadServiceTokenConfig(definition.name, options.env ?? process.env);
  // Before any client connects, so their calls are traced (docs/tracing.md).
  const tracing = await startTracing(tracingSettings(definition.name, options.env ?? process.env));
  const version = serviceVersion(options.env ?? process.env);
  const logger =
    options.logger ?? createLogger(definition.name, config.LOG_LEVEL ?? "info", undefined, version);
  const metrics = createMetrics(definition.name, version);
  const closers: { name: string; close: () => Promise<unknown> | unknown }[] = [];
  const runClosers = async () => {
    for (const { name, close } of closers.reverse()) {
      try {
        await close();
      } catch (err) {
        logger.warn({ err: (err as Error).message, resource: name }, "error while closing");
      }
    }
    closers.length = 0;
  };

  const onStop = (name: string, close: () => Promise<unknown> | unknown) => {
    closers.push({ name, close });
  };
  // Runs last: the spans of the drain itself are exported too.
  onStop("tracing", () => tracing.flush());
  const connect = <T>(what: string, attempt: () => Promise<T>) =>
    pRetry(attempt, {
      retries: 15,
      minTimeout: 200,
      maxTimeout: 3000,
      onFailedAttempt: (e) =>
        logger.warn({ dependency: what, attempt: e.attemptNumber, err: e.message }, "waiting for dependency"),
    });

  let parts: ServiceParts;
  try {
    parts = await definition.create({
      name: definition.name,
      config,
      logger,
      metrics,
      onStop,
      connect,
      async openDb(dbConfig, migrations) {
        const db = createDb(dbConfig);
        onStop("mariadb", () => db.end());
        await connect("mariadb", () => migrate(db, migrations, logger));
        return db;
      },
      async openRedis(redisConfig, redisOptions = {}) {
        const redis =
          redisOptions.waitForServer === false
            ? await createRedis(redisConfig, logger, redisOptions)
            : await connect("redis", () => createRedis(redisConfig, logger));
        onStop("redis", () => redis.close());
        return redis;
      },
      openBroker(amqpConfig) {
        const broker = connectBroker(amqpConfig, logger, metrics);
        onStop("rabbitmq", () => broker.close());
        return broker;
      },
      tokenVerifier: (c) => {
        let failing = false;
        return createTokenVerifier({
          jwksUrl: c.JWKS_URL,
          issuer: c.JWT_ISSUER,
          audience: c.JWT_AUDIENCE,
          keys: {
            onRefreshFailed: (err, ageMs) => {
              if (!failing)
                logger.warn(
                  { err: err.message, keysAgeSeconds: ageMs === undefined ? null : Math.round(ageMs / 1000) },
                  "signing keys could not be refreshed; verifying with the last good ones while they last",
                );
              failing = true;
            },
            onRefreshed: () => {
              if (failing) logger.info("signing keys refreshed again");
              failing = false;
            },
          },
        });
      },
      serviceTokens() {
        if (!tokens.signer)
          throw new ConfigError("SERVICE_TOKEN_KEY is missing: this service calls internal routes");
        return tokens.signer;
      },
    });
  } catch (err) {
    await runClosers();
    throw err;
  }

  const app = createHttpApp({
    name: definition.name,
    logger,
    metrics,
    readiness: parts.readiness,
    ...(parts.degradable ? { degradable: parts.degradable } : {}),
    routes: parts.routes,
    internal: internalGuard(definition.name, tokens),
    ...(parts.bodyLimit ? { bodyLimit: parts.bodyLimit } : {}),
    ...(parts.parseJson === false ? { parseJson: false } : {}),
  });
  dependencyGauge(metrics, parts.readiness, parts.degradable ?? {});
  const front = parts.front;
  const server = createServer(app);
  nameServer(server, definition.name);
  if (front) answerClaimedFirst(server, front);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? config.PORT ?? 0, options.host ?? config.HOST ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  // Bounded timeouts so a slow client cannot hold a connection forever.
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as AddressInfo).port;
  try {
    await parts.afterListen?.(server);
  } catch (err) {
    server.close();
    await runClosers();
    throw err;
  }
  logger.info({ port }, `${definition.name} listening`);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const timeout = config.SHUTDOWN_TIMEOUT_MS ?? 20_000;
      const drained = new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, timeout);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      try {
        await parts.beforeDrain?.();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, "error while closing long-lived connections");
      }
      await drained;
      await runClosers();
      logger.info(`${definition.name} stopped`);
    })();
    return stopping;
  };

  return {
    name: definition.name,
    config,
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    app,
    logger,
    metrics,
    stop,
  };
}

/**
 * `shopstream_dependency_up{dependency, required}`: 1 while a dependency answers, checked when
 * scraped; `required="false"` marks one the service degrades without (alerts and dashboards see
 * it although `/ready` does not).
 */
function dependencyGauge(
  metrics: Metrics,
  required: Record<string, ReadinessCheck>,
  degradable: Record<string, ReadinessCheck>,
): void {
  new Gauge({
    name: "shopstream_dependency_up",
    help: "1 while a dependency answers; required=false: the service answers without it, degraded",
    labelNames: ["dependency", "required"],
    registers: [metrics.registry],
    async collect() {
      const [hard, soft] = await Promise.all([runChecks(required, 1000), runChecks(degradable, 1000)]);
      for (const [checks, flag] of [
        [hard, "true"],
        [soft, "false"],
      ] as const)
        for (const [dependency, status] of Object.entries(checks))
          this.set({ dependency, required: flag }, status === "ok" ? 1 : 0);
    },
  });
}

/**
 * The whole `main.ts` of a service: parse config (one line and exit 1 when it is wrong),
 * start, and on SIGTERM/SIGINT drain and exit 0.
 */
export async function runService<S extends z.ZodType>(definition: ServiceDefinition<S>): Promise<void> {
  let running: RunningService<z.output<S>>;
  try {
    running = await startService(definition);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${definition.name}: configuration error: ${err.message}\n`);
    } else {
      process.stderr.write(`${definition.name}: failed to start: ${(err as Error).stack ?? err}\n`);
    }
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    running.logger.info({ signal }, "shutting down");
    running.stop().then(
      () => process.exit(0),
      (err) => {
        running.logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}
