import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  brokerNames,
  buildPlatform,
  localSettings,
  redisKeyPrefix,
  renderEnv,
  startOrder,
  type TargetResolver,
  type Workload,
} from "@shopstream/infra/model";
import {
  createLogger,
  createServiceTokenSigner,
  type RunningService,
  type ServiceDefinition,
  startService,
} from "@shopstream/runtime";
import { createClient } from "redis";
import type { z } from "zod";
import { redisAclRules } from "../../infra/src/config-files/redis.js";
import type { LocalEndpoints } from "../../infra/src/local/endpoints.js";
import { provisionBroker, removeIsolatedBroker, writeLocalSecrets } from "../../infra/src/local/provision.js";
import { tapEvents } from "./event-contract.js";
import { type ApiRequest, type ApiResponse, api } from "./http.js";
import {
  createTestDatabase,
  TEST_INFRA,
  type TestDatabase,
  testBroker,
  testRedis,
  uniqueId,
} from "./infra.js";

export type AppName =
  | "gateway"
  | "auth"
  | "product"
  | "cart"
  | "order"
  | "payment"
  | "notification"
  | "analytics";

// biome-ignore lint/suspicious/noExplicitAny: definitions differ only in their config type
type AnyDefinition = ServiceDefinition<z.ZodType<any>>;

export interface TestPlatformOptions {
  /** Names this test file's databases, Redis prefix and queues. */
  label: string;
  /** The services to run in this process; any other app service is unreachable. */
  services: Partial<Record<AppName, AnyDefinition>>;
  /** Extra env per service, applied over what the model renders. */
  env?: Partial<Record<AppName, Record<string, string>>>;
  adminEmail?: string;
  adminPassword?: string;
  /**
   * Each service on its own broker user with the platform's permissions (created for this test
   * with `rabbitmqctl` and deleted after), instead of the shared admin user that declares its own
   * topology. Redis always runs on the services' own ACL users.
   */
  brokerUsers?: boolean;
  /** Receives every log line of every service (at the service's LOG_LEVEL) instead of stdout. */
  logs?: (service: AppName, line: string) => void;
}

export interface TestPlatform {
  services: Partial<Record<AppName, RunningService<unknown>>>;
  url(name: AppName): string;
  /** The database a service owns (auth, product, order, payment). */
  db(owner: string): TestDatabase;
  redisPrefix: string;
  broker: TestBroker;
  adminEmail: string;
  adminPassword: string;
  /** The service-token header `caller` sends when it calls `url` on `callee` (internal routes). */
  serviceTokenHeaders(
    caller: AppName,
    callee: AppName,
    method: string,
    url: string,
  ): Promise<Record<string, string>>;
  /** `api` as `caller` calls `callee`: with a service token for each call. */
  callAs(caller: AppName, callee: AppName): (url: string, request?: ApiRequest) => Promise<ApiResponse>;
  /** Stops one service gracefully (SIGTERM path) and starts it again with the same env. */
  restart(name: AppName): Promise<void>;
  stopService(name: AppName): Promise<void>;
  startService(name: AppName): Promise<void>;
  stop(): Promise<void>;
}

/** This test file's exchange and queue-name prefix on the shared broker. */
export interface TestBroker {
  exchange: string;
  queuePrefix: string;
  env: Record<string, string>;
  cleanup(queues: string[]): Promise<unknown>;
}

/** The shared stores as the local run's provisioning sees them (admin users). */
const TEST_ENDPOINTS: LocalEndpoints = {
  mariadb: TEST_INFRA.mariadb,
  redis: {
    host: new URL(TEST_INFRA.redisUrl).hostname,
    port: Number(new URL(TEST_INFRA.redisUrl).port || 6379),
  },
  rabbitmq: {
    host: new URL(TEST_INFRA.amqpUrl).hostname,
    port: Number(new URL(TEST_INFRA.amqpUrl).port || 5672),
    user: TEST_INFRA.amqpUser,
    password: TEST_INFRA.amqpPassword,
  },
};

async function redisAdmin() {
  const client = createClient({ url: TEST_INFRA.redisUrl });
  await client.connect();
  return client;
}

/**
 * This test file's names on the broker when its services run on their own users: the model's
 * isolation naming, which the services' env already carries (`env` is for a process a test
 * starts itself, on the shared admin user); the users, exchanges and queues are removed at stop.
 */
function isolatedBroker(isolation: string): TestBroker {
  const names = brokerNames(buildPlatform(localSettings()).messaging, isolation);
  return {
    exchange: names.exchange,
    queuePrefix: isolation,
    env: {
      AMQP_URL: TEST_INFRA.amqpUrl,
      AMQP_VHOST: names.vhost,
      AMQP_EXCHANGE: names.exchange,
      AMQP_QUEUE_PREFIX: isolation,
    },
    cleanup: async (_queues: string[]) => undefined,
  };
}

/** Consumer queues of the model, for cleanup. */
const QUEUES = buildPlatform(localSettings()).messaging.queues.map((q) => q.name);

/**
 * Starts the named services in-process, each with the env the platform model renders for the
 * local run under this file's isolation prefix (its Redis keys and users, its broker users and
 * names), over which only the test concerns listed in `envFor` are set.
 */
export async function startTestPlatform(options: TestPlatformOptions): Promise<TestPlatform> {
  const adminEmail = options.adminEmail ?? `admin+${options.label}@shopstream.test`;
  const adminPassword = options.adminPassword ?? "Admin-password-for-tests-1";
  const id = uniqueId(options.label);
  // The model's isolation prefix is at most 20 characters: the label's first 9, then the id's hex.
  const isolation = `t${id.replace(/^(.{0,9}).*(_[0-9a-f]{8})$/, "$1$2")}_`;
  // Names and users of this test file's own on the shared Redis and broker, removed at stop.
  const platform = buildPlatform(localSettings({ adminEmail, logLevel: "info", isolation }));
  const redis = testRedis(options.label, redisKeyPrefix(platform.settings));
  const broker: TestBroker = options.brokerUsers ? isolatedBroker(isolation) : testBroker(options.label);
  const stateDir = mkdtempSync(join(tmpdir(), "shopstream-test-state-"));
  const secrets = writeLocalSecrets(
    platform.workloads.filter((w) => w.local),
    stateDir,
    { SHOPSTREAM_ADMIN_PASSWORD: adminPassword },
    platform.secrets,
  );
  const secretsDir = secrets.dir;
  const cleanups: (() => Promise<unknown>)[] = [];
  const admin = await redisAdmin();
  const redisUsers = platform.workloads.flatMap((w) => w.redis ?? []);
  cleanups.push(async () => {
    for (const access of redisUsers) await admin.sendCommand(["ACL", "DELUSER", access.user]);
    await admin.close();
  });
  // Both instances' users on the one Redis, as in the local run.
  for (const access of redisUsers) {
    const rules = redisAclRules(access, secrets.values[access.passwordSecret]!, redis.prefix);
    await admin.sendCommand(["ACL", "SETUSER", access.user, ...rules]);
  }
  if (options.brokerUsers) {
    cleanups.push(() => removeIsolatedBroker(platform, TEST_ENDPOINTS, isolation));
    await provisionBroker(platform, secrets, TEST_ENDPOINTS);
  }

  const running: Partial<Record<AppName, RunningService<unknown>>> = {};
  // A restarted service keeps its port, so the others' URLs stay right.
  const ports: Partial<Record<AppName, number>> = {};
  const envs: Partial<Record<AppName, Record<string, string>>> = {};
  const databases = new Map<string, TestDatabase>();

  const stores: Record<string, { host: string; port: number }> = {
    mariadb: TEST_ENDPOINTS.mariadb,
    redis: TEST_ENDPOINTS.redis,
    // The one Redis plays the catalog cache's instance too, as in the local run.
    "redis-cache": TEST_ENDPOINTS.redis,
    rabbitmq: TEST_ENDPOINTS.rabbitmq,
  };
  const resolver: TargetResolver = {
    host: (w) => stores[w.name]?.host ?? "127.0.0.1",
    // A service not started in this test is unreachable: port 1 refuses connections.
    port: (w) => running[w.name as AppName]?.port ?? stores[w.name]?.port ?? 1,
    secretPath: (secret) => join(secretsDir, secret),
  };

  // The model renders the rest (this file's Redis prefix and users, and with `brokerUsers` its
  // broker users and names). What remains set over it are test concerns:
  // - a database of the file's own, created by the root user and dropped at stop (the model's
  //   database and user would be shared by every file);
  // - without `brokerUsers`, the shared admin user and an exchange and queues of the file's own,
  //   which it declares itself (`testBroker`);
  // - quiet logs unless TEST_LOG_LEVEL says otherwise, NODE_ENV=test (which test-only settings
  //   require) and a short drain on stop;
  // - the test's own `env`, by name.
  const envFor = async (w: Workload): Promise<Record<string, string>> => {
    const env = renderEnv(platform, w, resolver);
    for (const owned of w.databases) {
      let db = databases.get(owned.name);
      if (!db) {
        db = await createTestDatabase(`${options.label}_${owned.name}`);
        databases.set(owned.name, db);
      }
      delete env.DB_PASSWORD_FILE;
      Object.assign(env, db.env);
    }
    if (env.AMQP_URL && !options.brokerUsers) {
      delete env.AMQP_PASSWORD_FILE;
      Object.assign(env, broker.env);
    }
    return {
      ...env,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
      NODE_ENV: "test",
      SHUTDOWN_TIMEOUT_MS: "5000",
      ...options.env?.[w.name as AppName],
    };
  };

  const order = startOrder(platform.workloads).filter((w) => options.services[w.name as AppName]);
  const start = async (name: AppName) => {
    const definition = options.services[name]!;
    const w = platform.workloads.find((x) => x.name === name)!;
    envs[name] ??= await envFor(w);
    const logs = options.logs;
    const service = await startService(definition, {
      env: envs[name],
      port: ports[name] ?? 0,
      host: "127.0.0.1",
      ...(logs
        ? {
            logger: createLogger(name, envs[name].LOG_LEVEL ?? "info", { write: (line) => logs(name, line) }),
          }
        : {}),
    });
    running[name] = service;
    ports[name] = service.port;
  };

  async function serviceTokenHeaders(caller: AppName, callee: AppName, method: string, url: string) {
    const key = platform.workloads.find((w) => w.name === caller)?.serviceKey;
    if (!key) throw new Error(`${caller} has no service-token key in the model`);
    return createServiceTokenSigner(caller, secrets.values[key.private]!).headers(callee, method, url);
  }

  const stopAll = async () => {
    for (const w of [...order].reverse()) {
      await running[w.name as AppName]?.stop();
      delete running[w.name as AppName];
    }
  };

  try {
    for (const w of order) await start(w.name as AppName);
  } catch (err) {
    await stopAll();
    throw err;
  }
  // Every event published on this file's exchange, checked against docs/asyncapi.json at stop.
  const tap = Object.values(envs).some((env) => env.AMQP_URL)
    ? await tapEvents(broker.exchange, broker.env.AMQP_VHOST)
    : undefined;

  return {
    services: running,
    url: (name) => {
      const s = running[name];
      if (!s) throw new Error(`${name} is not running in this test`);
      return s.url;
    },
    db: (owner) => {
      const db = databases.get(owner);
      if (!db) throw new Error(`no database for ${owner} in this test`);
      return db;
    },
    redisPrefix: redis.prefix,
    broker,
    adminEmail,
    adminPassword,
    serviceTokenHeaders,
    callAs:
      (caller, callee) =>
      async (url, request = {}) => {
        const method = request.method ?? (request.body !== undefined ? "POST" : "GET");
        const headers = await serviceTokenHeaders(caller, callee, method, url);
        return api(url, { ...request, method, headers: { ...request.headers, ...headers } });
      },
    async restart(name) {
      await running[name]?.stop();
      await start(name);
    },
    async stopService(name) {
      await running[name]?.stop();
      delete running[name];
    },
    async startService(name) {
      await start(name);
    },
    async stop() {
      await stopAll();
      const undocumented = tap?.problems() ?? [];
      await tap?.close();
      for (const db of databases.values()) await db.drop();
      await redis.cleanup();
      await broker.cleanup(QUEUES).catch(() => undefined);
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      secrets.remove();
      rmSync(stateDir, { recursive: true, force: true });
      if (undocumented.length > 0)
        throw new Error(
          `events published on this test's exchange that docs/asyncapi.json does not describe:\n  ${undocumented.join("\n  ")}`,
        );
    },
  };
}
