import { withCanary } from "./canary.js";
import { firstPort } from "./env.js";
import { brokerNames } from "./messaging.js";
import type {
  BrokerAccess,
  EnvValue,
  HealthCheck,
  InternalRoute,
  MessagingTopology,
  NetworkSpec,
  Platform,
  PlatformSettings,
  PublicHost,
  RedisAccess,
  Route,
  SecretName,
  SecretSpec,
  Volume,
  Workload,
} from "./types.js";

export const NETWORKS: NetworkSpec[] = [
  { name: "traefik-public", internal: false, description: "The edge's public side: only Traefik." },
  {
    name: "frontend",
    internal: false,
    description: "Traefik to what it routes: storefront, gateway, Grafana.",
  },
  { name: "backend", internal: true, description: "Gateway and the app services." },
  { name: "data", internal: true, description: "Services that own data, and the data stores." },
  {
    name: "metrics",
    internal: true,
    description:
      "Prometheus and the workloads it scrapes outside `monitoring` (app services, RabbitMQ, MinIO): they reach no dashboard, log store or edge admin port.",
  },
  {
    name: "monitoring",
    internal: true,
    description: "Prometheus, Alertmanager, Grafana, Loki, Promtail, Tempo, and Traefik (it routes to them).",
  },
  {
    name: "tracing",
    internal: true,
    description: "The app services and the trace store (Tempo), which they send their spans to over OTLP.",
  },
];

export const SECRETS: SecretSpec[] = [
  { name: "mariadb-root-password", kind: "password", length: 32, description: "MariaDB root" },
  { name: "db-password-auth", kind: "password", length: 32, description: "MariaDB user `auth`" },
  { name: "db-password-product", kind: "password", length: 32, description: "MariaDB user `product`" },
  { name: "db-password-order", kind: "password", length: 32, description: "MariaDB user `order`" },
  { name: "db-password-payment", kind: "password", length: 32, description: "MariaDB user `payment`" },
  { name: "jwt-signing-key", kind: "ed25519-pem", description: "Ed25519 key that signs access tokens" },
  { name: "minio-access-key", kind: "password", length: 20, description: "MinIO root user" },
  { name: "minio-secret-key", kind: "password", length: 40, description: "MinIO root password" },
  { name: "grafana-admin-password", kind: "password", length: 24, description: "Grafana `admin`" },
  { name: "admin-password", kind: "password", length: 24, description: "The shop's admin account" },
  {
    name: "traefik-dashboard-password",
    kind: "password",
    length: 24,
    description: "Basic auth for the Traefik dashboard, Prometheus and Alertmanager",
  },
];

/** The platform's secrets: the admin's address joins them when the settings name none. */
function secretsFor(s: PlatformSettings): SecretSpec[] {
  if (s.adminEmail) return SECRETS;
  const domain = s.hosts.app.replace(/:\d+$/, "");
  return [
    ...SECRETS,
    { name: "admin-email", kind: "email", domain, description: "The shop admin's e-mail address" },
  ];
}

/** App service ports are distinct so that the local run can put every process on 127.0.0.1. */
export const APP_PORTS = {
  gateway: 8080,
  storefront: 8081,
  auth: 3001,
  product: 3002,
  cart: 3003,
  order: 3004,
  payment: 3005,
  notification: 3006,
  analytics: 3007,
} as const;

export const JWT_ISSUER = "shopstream-auth";
export const JWT_AUDIENCE = "shopstream";
export const EVENTS_EXCHANGE = "shopstream.events";

export const MESSAGING: MessagingTopology = {
  vhost: "shopstream",
  exchange: EVENTS_EXCHANGE,
  deadLetterExchange: `${EVENTS_EXCHANGE}.dlx`,
  queues: [
    { name: "payment.order-created", consumer: "payment", bindings: ["order.created"] },
    // A cancelled order is never left charged: payment voids it, or refunds a charge that won the race.
    { name: "payment.order-cancelled", consumer: "payment", bindings: ["order.cancelled"] },
    {
      name: "order.payment-events",
      consumer: "order",
      bindings: ["payment.completed", "payment.failed", "payment.refunded"],
    },
    {
      name: "product.stock-release",
      consumer: "product",
      bindings: ["order.payment_failed", "order.cancelled"],
    },
    { name: "product.search-index", consumer: "product", bindings: ["product.changed", "product.deleted"] },
    { name: "cart.order-created", consumer: "cart", bindings: ["order.created"] },
    { name: "notification.events", consumer: "notification", bindings: ["order.*", "payment.*"] },
    { name: "analytics.events", consumer: "analytics", bindings: ["#"] },
  ],
  // From each service's code: the events it creates (analytics and notification publish none).
  publishers: {
    order: [
      "order.created",
      "order.paid",
      "order.payment_failed",
      "order.cancelled",
      "order.shipped",
      "order.delivered",
    ],
    payment: ["payment.completed", "payment.failed", "payment.refunded"],
    product: ["product.changed", "product.deleted"],
    cart: ["cart.item_added"],
  },
  retryExchange: `${EVENTS_EXCHANGE}.retry`,
};

/** The messaging topology a platform runs on (a developer's broker: its default vhost). */
function messagingFor(s: PlatformSettings): MessagingTopology {
  return s.brokerVhost ? { ...MESSAGING, vhost: s.brokerVhost } : MESSAGING;
}

/** `<isolation><prefix>-<service>`: the name of a service's own RabbitMQ and Redis user. */
export function serviceUser(s: PlatformSettings, service: string): string {
  return `${s.isolation ?? ""}${s.userPrefix}-${service}`;
}

/** The prefix every service's Redis keys and channels are under. */
export const KEY_PREFIX = "shopstream:";

/** A run's Redis key prefix: `shopstream:`, with its isolation prefix after it. */
export function redisKeyPrefix(s: PlatformSettings): string {
  return `${KEY_PREFIX}${s.isolation ?? ""}`;
}

/**
 * The port a workload listens on and is reached at: its model port, moved by the offset when
 * every app service shares one host (`sharedHost`), the gateway wherever that puts it.
 */
export function listenPort(s: PlatformSettings, w: Pick<Workload, "name" | "ports">): number {
  const shared = s.sharedHost;
  if (!shared) return firstPort(w);
  if (w.name === "gateway" && shared.gatewayPort !== undefined) return shared.gatewayPort;
  return firstPort(w) + shared.portOffset;
}

const secret = (name: SecretName, fileVar?: string): EnvValue =>
  fileVar ? { kind: "secret", secret: name, fileVar } : { kind: "secret", secret: name };
const url = (workload: string, scheme: "http" | "redis" | "amqp" | "ws" = "http", path?: string): EnvValue =>
  path ? { kind: "url", workload, scheme, path } : { kind: "url", workload, scheme };

/**
 * How long an app service may take to listen before failed health checks count: an upper bound,
 * not a wait (a service is healthy at its first passing probe). At the model's 0.2 CPU a start
 * was measured at 3 s of CPU unthrottled but 194 s of wall time (31 s of CPU) for auth, so 60 s
 * failed the real-engine replay; why throttling inflates start-up CPU tenfold is still open.
 */
export const APP_START_PERIOD_SECONDS = 300;

const httpHealth = (path: string, probe: HealthCheck["probe"]): HealthCheck => ({
  kind: "http",
  path,
  probe,
  intervalSeconds: 10,
  timeoutSeconds: 3,
  retries: 3,
  startPeriodSeconds: 20,
});
const execHealth = (command: string[], startPeriodSeconds = 30): HealthCheck => ({
  kind: "exec",
  command,
  intervalSeconds: 10,
  timeoutSeconds: 5,
  retries: 5,
  startPeriodSeconds,
});

type AppName = Exclude<keyof typeof APP_PORTS, "storefront">;

/** Files at the repo root every image build reads (workspaces, lockfile, compiler settings). */
const ROOT_BUILD_FILES = [
  "package.json",
  "package-lock.json",
  ".npmrc",
  "tsconfig.base.json",
  ".dockerignore",
];

/**
 * What a service sends to Redis, read from its code and the libraries it drives. The ACL user
 * gets exactly this: a command missing here is refused (`NOPERM`), in the tests too.
 */
interface RedisUse {
  /** Key families under the key prefix (`redis.key(<family>, …)`). */
  keys: string[];
  channels?: string[];
  /** Besides `ping` (readiness), which every user gets. */
  commands: string[];
}

/** What each app service needs from the platform; everything else is derived from it. */
interface AppSpec {
  name: AppName;
  description: string;
  database?: "auth" | "product" | "order" | "payment";
  redis?: RedisUse;
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
    if (w.redis)
      out.push({
        name: w.redis.passwordSecret,
        kind: "password",
        length: 32,
        description: `Redis ACL user \`${w.redis.user}\``,
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
  const redis: RedisAccess | undefined = spec.redis && {
    user: serviceUser(s, spec.name),
    passwordSecret: `redis-password-${spec.name}`,
    keys: spec.redis.keys,
    channels: spec.redis.channels ?? [],
    commands: ["ping", ...spec.redis.commands],
  };
  if (redis) {
    env.REDIS_URL = url("redis", "redis");
    env.REDIS_USERNAME = redis.user;
    env.REDIS_PASSWORD = secret(redis.passwordSecret);
    env.REDIS_KEY_PREFIX = redisKeyPrefix(s);
    dependsOn.push("redis");
  }
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
    ...(redis ? { redis } : {}),
    ...(internalRoutes.length ? { internalRoutes } : {}),
    ...(serviceKey ? { serviceKey } : {}),
  };
}

function serviceKeyOf(service: string): { private: SecretName; public: SecretName } {
  return { private: `service-key-${service}`, public: `service-key-${service}-public` };
}

/** The public origin of one of the edge's hosts, with the port when it is not the default. */
export function publicOrigin(s: PlatformSettings, host: PublicHost): string {
  const defaultPort = s.publicScheme === "https" ? 443 : 80;
  const port = s.publicPort !== undefined && s.publicPort !== defaultPort ? `:${s.publicPort}` : "";
  return `${s.publicScheme}://${s.hosts[host]}${port}`;
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

function appServices(s: PlatformSettings): Workload[] {
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
      // rate-limiter-flexible: its consume script (set, incrby, pttl, expire), get and delete;
      // product's catalog changes, which empty its catalog cache.
      redis: {
        keys: ["ratelimit"],
        channels: ["catalog:changed"],
        commands: [
          "eval",
          "set",
          "incrby",
          "pttl",
          "expire",
          "get",
          "del",
          "multi",
          "exec",
          "subscribe",
          "unsubscribe",
        ],
      },
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
      redis: {
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
      // gateways' caches.
      redis: {
        keys: ["catalog"],
        channels: ["catalog:changed"],
        commands: ["mget", "set", "multi", "incr", "publish", "exec"],
      },
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
      redis: {
        keys: ["cart", "cart-order", "cart-event"],
        commands: ["eval", "hgetall", "del", "hget", "hset", "hdel", "hlen", "exists", "expire", "set"],
      },
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
      redis: {
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
      rabbitmq: true,
      verifiesTokens: true,
      memoryMiB: 128,
    },
    {
      name: "analytics",
      description: "Consumes every event, exposes business metrics",
      // Shares of the totals owned by leases (set, get, pexpire, del) and counted by scripts
      // (hincrby, set).
      redis: {
        keys: ["analytics"],
        commands: ["eval", "set", "get", "hgetall", "hincrby", "pexpire", "del"],
      },
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

function storefront(s: PlatformSettings): Workload {
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

/** Defaults shared by third-party workloads; each overrides what differs. */
function thirdParty(
  w: Pick<Workload, "name" | "tier" | "description" | "image" | "ports" | "networks" | "resources"> &
    Partial<Workload>,
): Workload {
  return {
    env: {},
    extraSecrets: [],
    volumes: [],
    configFiles: [],
    routes: [],
    replicas: 1,
    dependsOn: [],
    stateful: false,
    readOnlyRootFilesystem: false,
    tmpfs: [],
    stopGracePeriodSeconds: 30,
    databases: [],
    ...w,
  };
}

/** Redis's `maxmemory` for a container of `limitMiB`: 60 %, the rest for fork copy-on-write and buffers. */
export const redisMaxMemoryMiB = (limitMiB: number) => Math.floor(limitMiB * 0.6);

function dataStores(s: PlatformSettings): Workload[] {
  const scale = (m: number) => Math.round(m * s.resourceScale);
  const stores: Workload[] = [
    thirdParty({
      name: "mariadb",
      tier: "data",
      description: "One server; one database and user per owning service",
      image: { kind: "third-party", image: "mariadb" },
      ports: [{ name: "mysql", port: 3306 }],
      env: { MARIADB_ROOT_PASSWORD: secret("mariadb-root-password"), MARIADB_AUTO_UPGRADE: "1" },
      extraSecrets: ["db-password-auth", "db-password-product", "db-password-order", "db-password-payment"],
      networks: ["data"],
      volumes: [{ name: "mariadb-data", mountPath: "/var/lib/mysql", sizeGi: 10 }],
      configFiles: [{ name: "mariadb-init", mountPath: "/docker-entrypoint-initdb.d/10-shopstream.sh" }],
      health: execHealth(["healthcheck.sh", "--connect", "--innodb_initialized"]),
      resources: { cpuMillis: scale(250), memoryMiB: scale(512) },
      stateful: true,
      user: "999:999",
    }),
    thirdParty({
      name: "redis",
      tier: "data",
      description: "Carts, refresh tokens, throttles, rate limits, caches, notification history, analytics",
      image: { kind: "third-party", image: "redis" },
      ports: [{ name: "redis", port: 6379 }],
      // The `default` user's password arrives as a SHA-256 in an ACL file (a secret file), so
      // neither the command line nor the process list ever holds it. Memory is capped below the
      // container's limit (room for the AOF rewrite's fork and client buffers) and nothing is
      // ever evicted: carts, sessions, rate limits and throttles must not vanish, so a full Redis
      // refuses writes (OOM) instead; the catalog cache, whose key space is bounded, only loses
      // speed then (docs/caching.md, "Redis memory").
      args: [
        "redis-server",
        "--appendonly",
        "yes",
        "--dir",
        "/data",
        "--aclfile",
        "/run/secrets/redis-acl",
        "--maxmemory",
        `${redisMaxMemoryMiB(scale(256))}mb`,
        "--maxmemory-policy",
        "noeviction",
      ],
      networks: ["data"],
      volumes: [{ name: "redis-data", mountPath: "/data", sizeGi: 2 }],
      configFiles: [{ name: "redis-acl", mountPath: "/run/secrets/redis-acl", secret: true }],
      // An unauthenticated PING proves the server answers (NOAUTH) without handling the password.
      health: execHealth(["sh", "-c", "redis-cli -h 127.0.0.1 ping 2>&1 | grep -qE 'PONG|NOAUTH'"]),
      resources: { cpuMillis: scale(100), memoryMiB: scale(256) },
      stateful: true,
      user: "999:1000",
    }),
    thirdParty({
      name: "rabbitmq",
      tier: "data",
      description: "Topic exchange shopstream.events, durable queues, dead letters",
      image: { kind: "third-party", image: "rabbitmq" },
      ports: [
        { name: "amqp", port: 5672 },
        { name: "metrics", port: 15692 },
      ],
      env: { RABBITMQ_CONFIG_FILES: "/etc/rabbitmq/conf.d" },
      networks: ["data", "metrics"],
      volumes: [{ name: "rabbitmq-data", mountPath: "/var/lib/rabbitmq", sizeGi: 5 }],
      configFiles: [
        // Beside the image's own conf.d file (10-defaults.conf, which lets guest in from anywhere).
        {
          name: "rabbitmq-conf",
          mountPath: "/etc/rabbitmq/conf.d/20-shopstream.conf",
          besideImageFiles: true,
        },
        // Holds the user's salted password hash: a secret, imported on boot.
        { name: "rabbitmq-definitions", mountPath: "/run/secrets/rabbitmq-definitions", secret: true },
      ],
      // `rabbitmq-diagnostics` starts an Erlang VM per run: under load a 10 s cadence times out
      // and, as liveness, restarts a busy broker. It runs every 30 s with room to answer;
      // readiness (Kubernetes) is a cheap TCP connect to the AMQP port.
      health: {
        ...execHealth(["rabbitmq-diagnostics", "-q", "ping"], 60),
        intervalSeconds: 30,
        timeoutSeconds: 20,
        retries: 3,
      },
      readinessTcpPort: "amqp",
      scrape: { port: "metrics", path: "/metrics/per-object" },
      resources: { cpuMillis: scale(250), memoryMiB: scale(512) },
      stateful: true,
      // The Alpine image's `rabbitmq` user (the Debian image uses 999).
      user: "100:101",
    }),
  ];
  if (s.images === "minio") {
    stores.push(
      thirdParty({
        name: "minio",
        tier: "data",
        description: "S3-compatible object store for product images",
        image: { kind: "third-party", image: "minio" },
        ports: [{ name: "s3", port: 9000 }],
        // The image declares VOLUME /data: Docker fills an empty volume mounted there from the
        // image, ownership included (root), undoing the chown to MinIO's user. A path the image
        // does not have is left as prepared.
        args: ["server", "/var/lib/minio"],
        env: {
          MINIO_ROOT_USER: secret("minio-access-key"),
          MINIO_ROOT_PASSWORD: secret("minio-secret-key"),
          MINIO_PROMETHEUS_AUTH_TYPE: "public",
        },
        networks: ["data", "metrics"],
        volumes: [{ name: "minio-data", mountPath: "/var/lib/minio", sizeGi: 10, ownedBy: "1000:1000" }],
        health: execHealth(["mc", "ready", "local"]),
        scrape: { port: "s3", path: "/minio/v2/metrics/cluster" },
        resources: { cpuMillis: scale(100), memoryMiB: scale(256) },
        stateful: true,
        user: "1000:1000",
      }),
    );
  }
  if (s.search === "elasticsearch") {
    stores.push(
      thirdParty({
        name: "elasticsearch",
        tier: "data",
        description: "Product search index (single node, bounded heap)",
        image: { kind: "third-party", image: "elasticsearch" },
        ports: [{ name: "http", port: 9200 }],
        env: {
          "discovery.type": "single-node",
          "xpack.security.enabled": "false",
          ES_JAVA_OPTS: "-Xms512m -Xmx512m",
        },
        networks: ["data"],
        volumes: [{ name: "elasticsearch-data", mountPath: "/usr/share/elasticsearch/data", sizeGi: 10 }],
        health: execHealth(
          ["curl", "-fsS", "http://127.0.0.1:9200/_cluster/health?wait_for_status=yellow&timeout=5s"],
          90,
        ),
        resources: { cpuMillis: scale(500), memoryMiB: scale(1024) },
        stateful: true,
        user: "1000:0",
      }),
    );
  }
  return stores;
}

function edgeAndObservability(s: PlatformSettings): Workload[] {
  const scale = (m: number) => Math.round(m * s.resourceScale);
  const edge = thirdParty({
    name: "traefik",
    tier: "edge",
    description: "The only public entry: TLS, routing, security headers, compression",
    image: { kind: "third-party", image: "traefik" },
    ports: [
      { name: "web", port: 8000 },
      { name: "websecure", port: 8443 },
      { name: "admin", port: 8082 },
    ],
    args: ["--configFile=/etc/traefik/traefik.yml"],
    networks: ["traefik-public", "frontend", "monitoring"],
    volumes: [{ name: "traefik-acme", mountPath: "/acme", sizeGi: 1, ownedBy: "65532:65532" }],
    configFiles: [
      { name: "traefik-static", mountPath: "/etc/traefik/traefik.yml" },
      { name: "traefik-dynamic", mountPath: "/etc/traefik/dynamic/shopstream.yml" },
      // `user:bcrypt-hash` lines for the basic auth in front of the admin hosts.
      { name: "traefik-users", mountPath: "/run/secrets/traefik-users", secret: true },
    ],
    // Reads the same static config, so it probes the `ping` handler on the admin entry point.
    health: execHealth(["traefik", "healthcheck", "--configFile=/etc/traefik/traefik.yml"], 10),
    routes: [{ host: "traefik", pathPrefix: "/", port: "admin" }],
    scrape: { port: "admin", path: "/metrics" },
    replicas: s.edgeReplicas ?? 1,
    resources: { cpuMillis: scale(100), memoryMiB: scale(128) },
    dependsOn: ["storefront", "gateway"],
    user: "65532:65532",
    readOnlyRootFilesystem: true,
  });
  if (!s.observability) return [edge];
  return [
    edge,
    thirdParty({
      name: "prometheus",
      tier: "observability",
      description: "Scrapes every /metrics; evaluates alert rules",
      image: { kind: "third-party", image: "prometheus" },
      ports: [{ name: "http", port: 9090 }],
      args: [
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/prometheus",
        `--storage.tsdb.retention.time=${s.retentionDays?.metrics ?? 15}d`,
        "--web.enable-lifecycle",
      ],
      // Traefik reaches it over `monitoring`, it scrapes the others over `metrics`; it stays
      // off `frontend`.
      networks: ["metrics", "monitoring"],
      volumes: [{ name: "prometheus-data", mountPath: "/prometheus", sizeGi: 10 }],
      configFiles: [
        { name: "prometheus-config", mountPath: "/etc/prometheus/prometheus.yml" },
        { name: "prometheus-alerts", mountPath: "/etc/prometheus/alerts.yml" },
      ],
      health: httpHealth("/-/healthy", "wget"),
      readinessPath: "/-/ready",
      routes: [{ host: "prometheus", pathPrefix: "/", port: "http" }],
      scrape: { port: "http", path: "/metrics" },
      resources: { cpuMillis: scale(200), memoryMiB: scale(512) },
      stateful: true,
      user: "65534:65534",
      readOnlyRootFilesystem: true,
    }),
    thirdParty({
      name: "alertmanager",
      tier: "observability",
      description: "Routes alerts",
      image: { kind: "third-party", image: "alertmanager" },
      ports: [{ name: "http", port: 9093 }],
      args: [
        "--config.file=/etc/alertmanager/alertmanager.yml",
        "--storage.path=/alertmanager",
        // One replica: no cluster gossip (it needs an RFC 1918 address to advertise, which pod
        // networks outside those ranges do not have, and stops Alertmanager from starting).
        "--cluster.listen-address=",
      ],
      // Traefik reaches it over `monitoring`; the network plan (docs/architecture.md) keeps it off `frontend`.
      networks: ["monitoring"],
      volumes: [{ name: "alertmanager-data", mountPath: "/alertmanager", sizeGi: 1 }],
      configFiles: [{ name: "alertmanager-config", mountPath: "/etc/alertmanager/alertmanager.yml" }],
      health: httpHealth("/-/healthy", "wget"),
      readinessPath: "/-/ready",
      routes: [{ host: "alertmanager", pathPrefix: "/", port: "http" }],
      scrape: { port: "http", path: "/metrics" },
      resources: { cpuMillis: scale(50), memoryMiB: scale(64) },
      stateful: true,
      user: "65534:65534",
      readOnlyRootFilesystem: true,
    }),
    thirdParty({
      name: "grafana",
      tier: "observability",
      description: "Dashboards over Prometheus, Loki and Tempo, provisioned as code",
      image: { kind: "third-party", image: "grafana" },
      ports: [{ name: "http", port: 3000 }],
      env: {
        GF_SECURITY_ADMIN_USER: "admin",
        GF_SECURITY_ADMIN_PASSWORD: secret("grafana-admin-password", "GF_SECURITY_ADMIN_PASSWORD__FILE"),
        GF_SERVER_ROOT_URL: `${publicOrigin(s, "grafana")}/`,
        GF_USERS_ALLOW_SIGN_UP: "false",
        GF_ANALYTICS_REPORTING_ENABLED: "false",
        GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
        GF_PATHS_PROVISIONING: "/etc/grafana/provisioning",
      },
      networks: ["frontend", "monitoring"],
      volumes: [{ name: "grafana-data", mountPath: "/var/lib/grafana", sizeGi: 2 }],
      configFiles: [
        { name: "grafana-datasources", mountPath: "/etc/grafana/provisioning/datasources/shopstream.yml" },
        { name: "grafana-dashboards", mountPath: "/etc/grafana/provisioning/dashboards/shopstream.yml" },
        {
          name: "grafana-dashboard-overview",
          mountPath: "/var/lib/grafana-dashboards/platform-overview.json",
        },
        { name: "grafana-dashboard-business", mountPath: "/var/lib/grafana-dashboards/business.json" },
        { name: "grafana-dashboard-logs", mountPath: "/var/lib/grafana-dashboards/logs.json" },
      ],
      health: httpHealth("/api/health", "wget"),
      routes: [{ host: "grafana", pathPrefix: "/", port: "http" }],
      scrape: { port: "http", path: "/metrics" },
      resources: { cpuMillis: scale(100), memoryMiB: scale(256) },
      dependsOn: ["prometheus", "loki", "tempo"],
      stateful: true,
      user: "472:0",
    }),
    thirdParty({
      name: "tempo",
      tier: "observability",
      description: "Stores every service's traces (OTLP), with retention; Grafana's trace view",
      image: { kind: "third-party", image: "tempo" },
      // OTLP first: the services' endpoint (and on Kubernetes their only allowed port) is it.
      ports: [
        { name: "otlp-http", port: 4318 },
        { name: "http", port: 3200 },
      ],
      args: ["-config.file=/etc/tempo/tempo.yml"],
      // The services reach it over `tracing`, Grafana and Prometheus over `monitoring`.
      networks: ["tracing", "monitoring"],
      volumes: [{ name: "tempo-data", mountPath: "/var/tempo", sizeGi: 10 }],
      configFiles: [{ name: "tempo-config", mountPath: "/etc/tempo/tempo.yml" }],
      health: { ...httpHealth("/ready", "wget"), port: "http" },
      readinessPath: "/ready",
      scrape: { port: "http", path: "/metrics" },
      resources: { cpuMillis: scale(100), memoryMiB: scale(256) },
      stateful: true,
      user: "10001:10001",
      readOnlyRootFilesystem: true,
    }),
    thirdParty({
      name: "loki",
      tier: "observability",
      description: "Stores every container's logs, with retention",
      image: { kind: "third-party", image: "loki" },
      ports: [{ name: "http", port: 3100 }],
      args: ["-config.file=/etc/loki/loki.yml"],
      networks: ["monitoring"],
      volumes: [{ name: "loki-data", mountPath: "/loki", sizeGi: 10 }],
      configFiles: [{ name: "loki-config", mountPath: "/etc/loki/loki.yml" }],
      health: httpHealth("/ready", "wget"),
      readinessPath: "/ready",
      scrape: { port: "http", path: "/metrics" },
      resources: { cpuMillis: scale(100), memoryMiB: scale(256) },
      stateful: true,
      user: "10001:10001",
      readOnlyRootFilesystem: true,
    }),
    thirdParty({
      name: "promtail",
      tier: "observability",
      description: "Ships every container's logs to Loki",
      image: { kind: "third-party", image: "promtail" },
      ports: [{ name: "http", port: 9080 }],
      args: ["-config.file=/etc/promtail/promtail.yml"],
      networks: ["monitoring"],
      configFiles: [{ name: "promtail-config", mountPath: "/etc/promtail/promtail.yml" }],
      // How far it has read each log: kept across restarts, or it ships every log again.
      volumes: [{ name: "promtail-positions", mountPath: "/var/lib/promtail", sizeGi: 1 }],
      health: httpHealth("/ready", "bash"),
      scrape: { port: "http", path: "/metrics" },
      resources: { cpuMillis: scale(50), memoryMiB: scale(128) },
      dependsOn: ["loki"],
      // The engine's log files (Docker) and pods' logs (Kubernetes) are root's, mode 0640 in
      // 0710 folders: it reads them as root with every capability dropped, read-only, and never
      // through the Docker socket (even read-only, that is the whole API: root on the host).
      readsContainerLogs: true,
      user: "0:0",
      readOnlyRootFilesystem: true,
      tmpfs: ["/tmp"],
    }),
  ];
}

/** Builds the whole platform for one environment. Pure: same settings, same model. */
export function buildPlatform(settings: PlatformSettings): Platform {
  if (!/^[a-z0-9_]{0,20}$/.test(settings.isolation ?? ""))
    throw new Error("isolation must be up to 20 of a-z, 0-9 and _");
  const workloads = withCanary(
    [
      ...dataStores(settings),
      ...appServices(settings),
      storefront(settings),
      ...edgeAndObservability(settings),
    ],
    settings.canary,
  );
  return {
    settings,
    networks: NETWORKS,
    secrets: [...secretsFor(settings), ...serviceSecrets(workloads)],
    workloads,
    messaging: messagingFor(settings),
  };
}

export function findWorkload(platform: Platform, name: string): Workload {
  const w = platform.workloads.find((x) => x.name === name);
  if (!w) throw new Error(`unknown workload ${name}`);
  return w;
}

/** Workloads ordered so that each comes after everything it depends on. */
export function startOrder(workloads: Workload[]): Workload[] {
  const byName = new Map(workloads.map((w) => [w.name, w]));
  const done = new Set<string>();
  const out: Workload[] = [];
  const visit = (w: Workload, path: string[]) => {
    if (done.has(w.name)) return;
    if (path.includes(w.name)) throw new Error(`dependency cycle: ${[...path, w.name].join(" -> ")}`);
    for (const d of w.dependsOn) {
      const dep = byName.get(d);
      if (dep) visit(dep, [...path, w.name]);
    }
    done.add(w.name);
    out.push(w);
  };
  for (const w of workloads) visit(w, []);
  return out;
}
