import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildPlatform,
  localSettings,
  renderEnv,
  type SecretName,
  startOrder,
  type TargetResolver,
  type Workload,
} from "@shopstream/infra/model";
import { type RunningService, type ServiceDefinition, startService } from "@shopstream/runtime";
import type { z } from "zod";
import { createTestDatabase, TEST_INFRA, type TestDatabase, testBroker, testRedis } from "./infra.js";

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
}

export interface TestPlatform {
  services: Partial<Record<AppName, RunningService<unknown>>>;
  url(name: AppName): string;
  /** The database a service owns (auth, product, order, payment). */
  db(owner: string): TestDatabase;
  redisPrefix: string;
  broker: ReturnType<typeof testBroker>;
  adminEmail: string;
  adminPassword: string;
  /** Stops one service gracefully (SIGTERM path) and starts it again with the same env. */
  restart(name: AppName): Promise<void>;
  stopService(name: AppName): Promise<void>;
  startService(name: AppName): Promise<void>;
  stop(): Promise<void>;
}

/** Consumer queues of the model, for cleanup. */
const QUEUES = buildPlatform(localSettings()).messaging.queues.map((q) => q.name);

/**
 * Starts the named services in-process, each with exactly the env the platform model renders
 * for the local run, redirected to this test file's own database, Redis prefix and exchange.
 */
export async function startTestPlatform(options: TestPlatformOptions): Promise<TestPlatform> {
  const adminEmail = options.adminEmail ?? `admin+${options.label}@shopstream.test`;
  const adminPassword = options.adminPassword ?? "Admin-password-for-tests-1";
  const platform = buildPlatform(localSettings({ adminEmail, logLevel: "info" }));
  const redis = testRedis(options.label);
  const broker = testBroker(options.label);
  const secretsDir = mkdtempSync(join(tmpdir(), "shopstream-test-secrets-"));
  const { privateKey } = generateKeyPairSync("ed25519");
  const secretValues: Partial<Record<SecretName, string>> = {
    "jwt-signing-key": privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    "admin-password": adminPassword,
  };
  for (const [name, value] of Object.entries(secretValues)) writeFileSync(join(secretsDir, name), value);

  const running: Partial<Record<AppName, RunningService<unknown>>> = {};
  // A restarted service keeps its port, so the others' URLs stay right.
  const ports: Partial<Record<AppName, number>> = {};
  const envs: Partial<Record<AppName, Record<string, string>>> = {};
  const databases = new Map<string, TestDatabase>();

  const dataPorts: Record<string, number> = {
    mariadb: TEST_INFRA.mariadb.port,
    redis: Number(new URL(TEST_INFRA.redisUrl).port || 6379),
    rabbitmq: Number(new URL(TEST_INFRA.amqpUrl).port || 5672),
  };
  const resolver: TargetResolver = {
    host: () => "127.0.0.1",
    // A service not started in this test is unreachable: port 1 refuses connections.
    port: (w) => running[w.name as AppName]?.port ?? dataPorts[w.name] ?? 1,
    secretPath: (secret) => join(secretsDir, secret),
  };

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
    if (env.REDIS_URL) Object.assign(env, redis.env);
    if (env.AMQP_URL) Object.assign(env, broker.env);
    env.LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? "silent";
    env.NODE_ENV = "test";
    env.SHUTDOWN_TIMEOUT_MS = "5000";
    return { ...env, ...options.env?.[w.name as AppName] };
  };

  const order = startOrder(platform.workloads).filter((w) => options.services[w.name as AppName]);
  const start = async (name: AppName) => {
    const definition = options.services[name]!;
    const w = platform.workloads.find((x) => x.name === name)!;
    envs[name] ??= await envFor(w);
    const service = await startService(definition, {
      env: envs[name],
      port: ports[name] ?? 0,
      host: "127.0.0.1",
    });
    running[name] = service;
    ports[name] = service.port;
  };

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
      for (const db of databases.values()) await db.drop();
      await redis.cleanup();
      await broker.cleanup(QUEUES).catch(() => undefined);
      rmSync(secretsDir, { recursive: true, force: true });
    },
  };
}
