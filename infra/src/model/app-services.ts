/** The Node app services and the storefront, derived from what each needs of the platform. */
import { APP_PORTS, APP_START_PERIOD_SECONDS, JWT_AUDIENCE, JWT_ISSUER } from "./constants.js";
import { brokerNames } from "./messaging.js";
import {
  listenPort,
  publicOrigin,
  redisKeyPrefix,
  redisPasswordSecret,
  redisUser,
  serviceUser,
} from "./naming.js";
import { httpHealth, messagingFor, ROOT_BUILD_FILES, secret, url } from "./parts.js";
import type {
  BrokerAccess,
  EnvValue,
  InternalRoute,
  PlatformSettings,
  RedisAccess,
  RedisInstance,
  Route,
  SecretName,
  SecretSpec,
  Volume,
  Workload,
} from "./types.js";

type AppName = Exclude<keyof typeof APP_PORTS, "storefront">;

/**
 * What a service sends to one Redis instance, read from its code and the libraries it drives.
 * The ACL user gets exactly this: a command missing here is refused (`NOPERM`), in the tests too.
 */
interface RedisUse {
  instance: RedisInstance;
  /**
   * Prefix of the variables that carry the connection (`<prefix>URL`, `<prefix>USERNAME`,
   * `<prefix>PASSWORD`). `REDIS_` (the default) is the service's own Redis: it waits for it at
   * start and pings it for `/health`, so its user gets `ping` too. Any other is a connection the
   * service opens in the background and only subscribes on.
   */
  envPrefix?: string;
  /** Key families under the key prefix (`redis.key(<family>, …)`). */
  keys: string[];
  channels?: string[];
  /** Besides `ping` on the service's own Redis. */
  commands: string[];
}

const OWN_REDIS = "REDIS_";

/** What each app service needs from the platform; everything else is derived from it. */
interface AppSpec {
  name: AppName;
  description: string;
  database?: "auth" | "product" | "order" | "payment";
  redis?: RedisUse[];
  rabbitmq?: boolean;
  /** Verifies access tokens against the auth JWKS. */
  verifiesTokens?: boolean;
  /** Other app services it calls over HTTP. */
  calls?: AppName[];
  /** Its `/internal/*` routes and the services that may call each. */
  internalRoutes?: InternalRoute[];
  env?: Record<string, EnvValue>;
  routes?: Route[];
  dependsOnExtra?: string[];
  memoryMiB: number;
  autoscale?: boolean;
  networksExtra?: ("frontend" | "data")[];
  volumes?: Volume[];
}

/** Secrets of the services' own broker and Redis users and service-token keys. */
export function serviceSecrets(workloads: Workload[]): SecretSpec[] {
  const out: SecretSpec[] = [];
  for (const w of workloads) {
    if (w.broker)
      out.push({
        name: w.broker.passwordSecret,
        kind: "password",
        length: 32,
        description: `RabbitMQ user \`${w.broker.user}\``,
      });
    for (const r of w.redis ?? [])
      out.push({
        name: r.passwordSecret,
        kind: "password",
        length: 32,
        description: `Redis ACL user \`${r.user}\` on \`${r.instance}\``,
      });
    if (w.serviceKey) {
      out.push(
        {
          name: w.serviceKey.private,
          kind: "ed25519-pem",
          description: `Ed25519 key ${w.name} signs its service tokens with`,
        },
        {
          name: w.serviceKey.public,
          kind: "ed25519-public",
          of: w.serviceKey.private,
          description: `Public half of ${w.serviceKey.private}, for the services ${w.name} calls`,
        },
      );
    }
  }
  return out;
}

/**
 * OpenTelemetry for an app service (docs/tracing.md): spans to Tempo's OTLP/HTTP receiver when
 * the observability stack is deployed (none in the local run: ids are still made and logged). The
 * gateway is the edge: it decides on the ratio alone, ignoring a client's sampled flag; every
 * other service follows its caller's decision.
 */
function tracingEnv(service: string, s: PlatformSettings): Record<string, EnvValue> {
  const ratio = String(s.traceSampleRatio ?? 1);
  return {
    ...(s.observability ? { OTEL_EXPORTER_OTLP_ENDPOINT: url("tempo") } : {}),
    OTEL_TRACES_SAMPLER: service === "gateway" ? "traceidratio" : "parentbased_traceidratio",
    OTEL_TRACES_SAMPLER_ARG: ratio,
  };
}

function appWorkload(
  spec: AppSpec,
  s: PlatformSettings,
  callers: Map<string, InternalRoute[]>,
  called: Set<string>,
): Workload {
  const env: Record<string, EnvValue> = {
    NODE_ENV: "production",
    PORT: String(listenPort(s, { name: spec.name, ports: [{ name: "http", port: APP_PORTS[spec.name] }] })),
    // One host's network is shared with other processes: only they may reach the service.
    ...(s.sharedHost ? { HOST: "127.0.0.1" } : {}),
    LOG_LEVEL: s.logLevel,
    // The heap is sized from the workload's memory, the same in every target: V8 would otherwise
    // size it from the machine and let a service grow past its limit. A small young generation
    // keeps idle and peak RSS low for services whose requests allocate little.
    NODE_OPTIONS: `--max-old-space-size=${Math.round(spec.memoryMiB * s.resourceScale * 0.75)} --max-semi-space-size=2`,
    // Clients arrive through the edge, which tells the gateway who they are; the gateway tells
    // the services. Nobody else is believed, so no client picks its own address.
    TRUST_PROXY: { kind: "trusted-peers", workloads: [spec.name === "gateway" ? "traefik" : "gateway"] },
    ...tracingEnv(spec.name, s),
  };
  const dependsOn: string[] = [];
  const usesData = Boolean(spec.database || spec.redis || spec.rabbitmq);
  if (spec.database) {
    env.DB_HOST = { kind: "host", workload: "mariadb" };
    env.DB_PORT = { kind: "port", workload: "mariadb" };
    env.DB_NAME = `${s.isolation ?? ""}${spec.database}`;
    env.DB_USER = `${s.isolation ?? ""}${spec.database}`;
    env.DB_PASSWORD = secret(`db-password-${spec.database}`);
    dependsOn.push("mariadb");
  }
  const messaging = messagingFor(s);
  const redis = (spec.redis ?? []).map((use): RedisAccess => {
    const prefix = use.envPrefix ?? OWN_REDIS;
    const access: RedisAccess = {
      instance: use.instance,
      user: redisUser(s, spec.name, use.instance),
      passwordSecret: redisPasswordSecret(spec.name, use.instance),
      keys: use.keys,
      channels: use.channels ?? [],
      commands: [...(prefix === OWN_REDIS ? ["ping"] : []), ...use.commands],
    };
    env[`${prefix}URL`] = url(use.instance, "redis");
    env[`${prefix}USERNAME`] = access.user;
    env[`${prefix}PASSWORD`] = secret(access.passwordSecret);
    // Keys and channels are under one prefix on every instance.
    env.REDIS_KEY_PREFIX = redisKeyPrefix(s);
    // A background connection holds up no start, so it orders none either.
    if (prefix === OWN_REDIS) dependsOn.push(use.instance);
    return access;
  });
  const consumed = messaging.queues.filter((q) => q.consumer === spec.name);
  const broker: BrokerAccess | undefined = spec.rabbitmq
    ? {
        user: serviceUser(s, spec.name),
        passwordSecret: `rabbitmq-password-${spec.name}`,
        queues: consumed.map((q) => q.name),
        binds: [...new Set(consumed.flatMap((q) => q.bindings))],
        publishes: messaging.publishers[spec.name] ?? [],
      }
    : undefined;
  if (broker) {
    const names = brokerNames(messaging, s.isolation);
    env.AMQP_URL = url("rabbitmq", "amqp");
    env.AMQP_VHOST = names.vhost;
    env.AMQP_USER = broker.user;
    env.AMQP_PASSWORD = secret(broker.passwordSecret);
    env.AMQP_EXCHANGE = names.exchange;
    if (names.queuePrefix) env.AMQP_QUEUE_PREFIX = names.queuePrefix;
    // The broker definitions (containers) or the local run's provisioning declare every exchange,
    // queue and binding: the service's user may configure nothing.
    env.AMQP_DECLARE_TOPOLOGY = "false";
    dependsOn.push("rabbitmq");
  }
  // Internal routes: the callee checks service tokens against its callers' public keys.
  const internalRoutes = spec.internalRoutes ?? [];
  if (internalRoutes.length > 0) {
    const allowed = [...new Set(internalRoutes.flatMap((r) => r.callers))].sort();
    env.INTERNAL_ROUTES = JSON.stringify(internalRoutes);
    env.INTERNAL_CALLER_KEYS = {
      kind: "secret-files",
      secrets: Object.fromEntries(allowed.map((c) => [c, serviceKeyOf(c).public])),
    };
  }
  const serviceKey = callers.has(spec.name) ? serviceKeyOf(spec.name) : undefined;
  if (serviceKey) env.SERVICE_TOKEN_KEY = secret(serviceKey.private);
  if (spec.verifiesTokens) {
    env.JWKS_URL = url("auth", "http", "/.well-known/jwks.json");
    env.JWT_ISSUER = JWT_ISSUER;
    env.JWT_AUDIENCE = JWT_AUDIENCE;
    if (spec.name !== "auth") dependsOn.push("auth");
  }
  for (const callee of spec.calls ?? []) {
    env[`${callee.toUpperCase()}_URL`] = url(callee);
    if (!dependsOn.includes(callee)) dependsOn.push(callee);
  }
  Object.assign(env, spec.env);
  dependsOn.push(...(spec.dependsOnExtra ?? []));

  const autoscale =
    spec.autoscale && s.maxReplicas > s.appReplicas
      ? { min: s.appReplicas, max: s.maxReplicas, cpuPercent: 70 }
      : undefined;
  return {
    name: spec.name,
    tier: "app",
    description: spec.description,
    // One Dockerfile serves every Node service; SERVICE picks the workspace to build.
    image: {
      kind: "build",
      dockerfile: "services/Dockerfile",
      args: { SERVICE: spec.name },
      sources: ["services/Dockerfile", `services/${spec.name}`, "services/runtime", ...ROOT_BUILD_FILES],
    },
    ports: [{ name: "http", port: APP_PORTS[spec.name] }],
    env,
    extraSecrets: [],
    networks: [
      ...(spec.networksExtra?.includes("frontend") ? (["frontend"] as const) : []),
      // Service-to-service HTTP: only for those that call another service or are called by one
      // (payment talks to the broker and its database alone).
      ...(spec.calls?.length || called.has(spec.name) ? (["backend"] as const) : []),
      ...(usesData ? (["data"] as const) : []),
      // Spans go to Tempo's OTLP port (docs/tracing.md).
      ...(s.observability ? (["tracing"] as const) : []),
      // Scraped by Prometheus over `metrics`: no app service reaches Grafana, Loki or the edge's
      // admin port.
      "metrics",
    ],
    volumes: spec.volumes ?? [],
    configFiles: [],
    // The start period covers start-up work before the server listens (migrations; product's first
    // start seeds the demo catalog and its images) at the model's fraction of a CPU.
    health: { ...httpHealth("/health", "bash"), startPeriodSeconds: APP_START_PERIOD_SECONDS },
    readinessPath: "/ready",
    routes: spec.routes ?? [],
    scrape: { port: "http", path: "/metrics" },
    replicas: s.appReplicas,
    autoscale,
    resources: {
      cpuMillis: Math.round(100 * s.resourceScale),
      memoryMiB: Math.round(spec.memoryMiB * s.resourceScale),
    },
    dependsOn,
    stateful: false,
    user: "1000:1000",
    readOnlyRootFilesystem: true,
    tmpfs: ["/tmp"],
    stopGracePeriodSeconds: 30,
    databases: spec.database
      ? [{ name: spec.database, user: spec.database, passwordSecret: `db-password-${spec.database}` }]
      : [],
    local: { workspace: `services/${spec.name}`, entry: "dist/main.js" },
    ...(broker ? { broker } : {}),
    ...(redis.length ? { redis } : {}),
    ...(internalRoutes.length ? { internalRoutes } : {}),
    ...(serviceKey ? { serviceKey } : {}),
  };
}

function serviceKeyOf(service: string): { private: SecretName; public: SecretName } {
  return { private: `service-key-${service}`, public: `service-key-${service}-public` };
}

/**
 * Who may call which internal route. The callers get a service-token key, the callees the
 * callers' public keys; the runtime refuses any other caller (services/runtime/src/service-tokens.ts).
 */
const INTERNAL_ROUTES: Partial<Record<AppName, InternalRoute[]>> = {
  product: [
    { method: "POST", path: "/internal/reservations", callers: ["order"] },
    { method: "POST", path: "/internal/reservations/:orderId/release", callers: ["order"] },
  ],
  cart: [
    { method: "GET", path: "/internal/carts/:userId", callers: ["order"] },
    { method: "POST", path: "/internal/carts/:userId/checkouts", callers: ["order"] },
  ],
};

export function appServices(s: PlatformSettings): Workload[] {
  const publicBase = publicOrigin(s, "app");
  const productEnv: Record<string, EnvValue> = {};
  if (s.search === "elasticsearch") productEnv.ELASTICSEARCH_URL = url("elasticsearch");
  if (s.images === "minio") {
    productEnv.MINIO_ENDPOINT = { kind: "host", workload: "minio" };
    productEnv.MINIO_PORT = { kind: "port", workload: "minio" };
    productEnv.MINIO_USE_SSL = "false";
    productEnv.MINIO_BUCKET = "product-images";
    productEnv.MINIO_ACCESS_KEY = secret("minio-access-key");
    productEnv.MINIO_SECRET_KEY = secret("minio-secret-key");
  } else {
    productEnv.IMAGES_DIR = s.environment === "local" ? ".shopstream/images" : "/data/images";
  }
  const productDeps = [
    ...(s.search === "elasticsearch" ? ["elasticsearch"] : []),
    ...(s.images === "minio" ? ["minio"] : []),
  ];

  const specs: AppSpec[] = [
    {
      name: "gateway",
      description: "`/api/*` entry: routing, JWT check, rate limits, request ids, CORS, WebSockets",
      redis: [
        // rate-limiter-flexible: its consume script (set, incrby, pttl, expire), get and delete.
        {
          instance: "redis",
          keys: ["ratelimit"],
          commands: ["eval", "set", "incrby", "pttl", "expire", "get", "del", "multi", "exec"],
        },
        // Product's catalog changes, which empty its catalog cache: a subscription on the cache
        // instance, no key at all.
        {
          instance: "redis-cache",
          envPrefix: "CATALOG_REDIS_",
          keys: [],
          channels: ["catalog:changed"],
          commands: ["subscribe", "unsubscribe"],
        },
      ],
      verifiesTokens: true,
      calls: ["auth", "product", "cart", "order", "notification", "analytics"],
      env: {
        CORS_ORIGINS: publicBase,
        UPSTREAM_TIMEOUT_MS: "10000",
        // A checkout may take as long as the order service lets one own its Idempotency-Key
        // (IDEMPOTENCY_LEASE_MS, 30 s), which outlasts all of its own waits: two 3 s waits for the
        // key and the buyer's lease, three 5 s calls (cart, reserve, release) and the 2 s cart
        // removal (test/gateway/checkout-timeout.test.ts computes them from the order service).
        CHECKOUT_TIMEOUT_MS: "30000",
        ...(s.rateLimits === "lifted"
          ? { RATE_LIMIT_PER_MINUTE: "1000000", AUTH_RATE_LIMIT_PER_MINUTE: "1000000" }
          : { RATE_LIMIT_PER_MINUTE: "600" }),
        ...(s.environment === "local" ? { STOREFRONT_DIR: "services/storefront/dist" } : {}),
      },
      routes: [{ host: "app", pathPrefix: "/api", port: "http" }],
      memoryMiB: 128,
      autoscale: true,
      networksExtra: ["frontend"],
    },
    {
      name: "auth",
      description: "Users, passwords, access and refresh tokens, JWKS, roles",
      database: "auth",
      // Login throttle (scripts: get, incr, decr, decrby, pttl, expire, pexpire, del, exists),
      // owner notices (set), revoked access tokens (set, exists), refresh tokens (multi: set,
      // hset, expire; hget, del; a rotation script: hget, hset, exists, expire, del).
      redis: [
        {
          instance: "redis",
          keys: ["login-attempts", "owner-notice", "revoked-access-token", "refresh-token", "refresh-family"],
          commands: [
            "multi",
            "exec",
            "set",
            "get",
            "incr",
            "decr",
            "decrby",
            "pttl",
            "expire",
            "pexpire",
            "exists",
            "del",
            "hget",
            "hset",
            "eval",
          ],
        },
      ],
      env: {
        JWT_ISSUER,
        JWT_AUDIENCE,
        JWT_SIGNING_KEY: secret("jwt-signing-key"),
        ACCESS_TOKEN_TTL_SECONDS: "900",
        SHOPSTREAM_ADMIN_EMAIL: s.adminEmail ?? secret("admin-email"),
        SHOPSTREAM_ADMIN_PASSWORD: secret("admin-password"),
        // Each argon2 job takes 19 MiB on one of libuv's threads; glibc would keep that memory in
        // every thread's arena after the job (4 x 19 MiB for good). A fixed mmap threshold hands
        // such blocks back to the system when a job ends (bench/README.md, "Memory").
        MALLOC_MMAP_THRESHOLD_: "131072",
      },
      memoryMiB: 192,
    },
    {
      name: "product",
      description: "Catalog, stock reservations, search, images, read cache",
      database: "product",
      // The read cache: a version counter and versioned entries; a change is announced to the
      // gateways' caches. All of it on the cache instance, which may evict entries (they carry a
      // TTL) but never the counter (it has none): product holds no right on the main Redis.
      redis: [
        {
          instance: "redis-cache",
          keys: ["catalog"],
          channels: ["catalog:changed"],
          commands: ["mget", "set", "multi", "incr", "publish", "exec"],
        },
      ],
      rabbitmq: true,
      verifiesTokens: true,
      env: productEnv,
      dependsOnExtra: productDeps,
      // Images in a folder need somewhere writable under a read-only root: a named volume on
      // Docker; on Kubernetes each replica's scratch (use MinIO there to share them).
      volumes:
        s.images === "local" && s.environment !== "local"
          ? [{ name: "product-images", mountPath: "/data/images", sizeGi: 5, ownedBy: "1000:1000" }]
          : [],
      memoryMiB: 160,
      autoscale: true,
    },
    {
      name: "cart",
      description: "One cart per user in Redis, priced from the product service",
      // Carts are hashes changed by scripts (hget, hset, hdel, hlen, exists, expire, set).
      redis: [
        {
          instance: "redis",
          keys: ["cart", "cart-order", "cart-event"],
          commands: ["eval", "hgetall", "del", "hget", "hset", "hdel", "hlen", "exists", "expire", "set"],
        },
      ],
      rabbitmq: true,
      verifiesTokens: true,
      calls: ["product"],
      memoryMiB: 128,
      autoscale: true,
    },
    {
      name: "order",
      description: "Idempotent checkout, stock reservation, order state machine, outbox",
      database: "order",
      rabbitmq: true,
      verifiesTokens: true,
      calls: ["product", "cart"],
      memoryMiB: 160,
      autoscale: true,
    },
    {
      name: "payment",
      description: "Mock payment processor driven by events",
      database: "payment",
      rabbitmq: true,
      memoryMiB: 128,
    },
    {
      name: "notification",
      description: "Pushes order and payment events to signed-in users over WebSocket, keeps history",
      // History lists written by a script (set, lpush, ltrim, expire); pushes to every replica
      // over one pub/sub channel.
      redis: [
        {
          instance: "redis",
          keys: ["notification"],
          channels: ["notification:push"],
          commands: [
            "eval",
            "lrange",
            "set",
            "lpush",
            "ltrim",
            "expire",
            "publish",
            "subscribe",
            "unsubscribe",
          ],
        },
      ],
      rabbitmq: true,
      verifiesTokens: true,
      memoryMiB: 128,
    },
    {
      name: "analytics",
      description: "Consumes every event, exposes business metrics",
      // Shares of the totals owned by leases (set, get, pexpire, del) and counted by scripts
      // (hincrby, set).
      redis: [
        {
          instance: "redis",
          keys: ["analytics"],
          commands: ["eval", "set", "get", "hgetall", "hincrby", "pexpire", "del"],
        },
      ],
      rabbitmq: true,
      verifiesTokens: true,
      memoryMiB: 128,
    },
  ];
  const callers = new Map<string, InternalRoute[]>();
  for (const spec of specs) {
    spec.internalRoutes = INTERNAL_ROUTES[spec.name];
    for (const route of spec.internalRoutes ?? []) {
      if (!route.path.startsWith("/internal/"))
        throw new Error(`${spec.name}: ${route.path} is not internal`);
      for (const caller of route.callers) {
        const from = specs.find((x) => x.name === caller);
        if (!from?.calls?.includes(spec.name))
          throw new Error(`${caller} may call ${spec.name}'s ${route.path} but does not call ${spec.name}`);
        callers.set(caller, [...(callers.get(caller) ?? []), route]);
      }
    }
  }
  const called = new Set(specs.flatMap((x) => x.calls ?? []));
  return specs.map((spec) => appWorkload(spec, s, callers, called));
}

export function storefront(s: PlatformSettings): Workload {
  return {
    name: "storefront",
    tier: "app",
    description: "Static single-page shop served by nginx",
    image: {
      kind: "build",
      dockerfile: "services/storefront/Dockerfile",
      args: {},
      sources: ["services/storefront", ...ROOT_BUILD_FILES],
    },
    ports: [{ name: "http", port: APP_PORTS.storefront }],
    env: {},
    extraSecrets: [],
    networks: ["frontend"],
    volumes: [],
    configFiles: [],
    health: httpHealth("/healthz", "bash"),
    routes: [{ host: "app", pathPrefix: "/", port: "http" }],
    replicas: s.appReplicas,
    resources: { cpuMillis: Math.round(50 * s.resourceScale), memoryMiB: Math.round(64 * s.resourceScale) },
    dependsOn: [],
    stateful: false,
    user: "101:101",
    readOnlyRootFilesystem: true,
    tmpfs: ["/tmp"],
    stopGracePeriodSeconds: 15,
    databases: [],
  };
}
