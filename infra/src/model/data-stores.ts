/** The data stores: MariaDB, Redis, RabbitMQ, and MinIO and Elasticsearch when the settings use them. */
import { execHealth, secret, thirdParty } from "./parts.js";
import type { PlatformSettings, Workload } from "./types.js";

/** Redis's `maxmemory` for a container of `limitMiB`: 60 %, the rest for fork copy-on-write and buffers. */
export const redisMaxMemoryMiB = (limitMiB: number) => Math.floor(limitMiB * 0.6);

/**
 * What the cache instance evicts when full: the least recently used key that has a TTL. Every
 * cache entry is stored with one (`CACHE_TTL_SECONDS`); the catalog's version counter has none,
 * so it is never evicted: were it dropped, INCR would count again from 1 and an entry stored
 * under an old version of the same number could be served as current.
 */
export const REDIS_CACHE_EVICTION = "volatile-lru";

/** An unauthenticated PING proves the server answers (NOAUTH) without handling the password. */
const redisHealth = (port: number) =>
  execHealth(["sh", "-c", `redis-cli -h 127.0.0.1 -p ${port} ping 2>&1 | grep -qE 'PONG|NOAUTH'`]);

/**
 * The cache instance's port: not the main one's, so that both can be published on one host's
 * loopback for debugging (`docker.debugPorts`), and a port says which Redis it is.
 */
const REDIS_CACHE_PORT = 6380;

export function dataStores(s: PlatformSettings): Workload[] {
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
      description: "Carts, refresh tokens, throttles, rate limits, notification history, analytics",
      image: { kind: "third-party", image: "redis" },
      ports: [{ name: "redis", port: 6379 }],
      // The `default` user's password arrives as a SHA-256 in an ACL file (a secret file), so
      // neither the command line nor the process list ever holds it. Memory is capped below the
      // container's limit (room for the AOF rewrite's fork and client buffers) and nothing is
      // ever evicted: carts, sessions, rate limits and throttles must not vanish, so a full Redis
      // refuses writes (OOM) instead. The catalog cache, which may be evicted, lives on
      // `redis-cache` (docs/caching.md, "Redis memory").
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
      health: redisHealth(6379),
      resources: { cpuMillis: scale(100), memoryMiB: scale(256) },
      stateful: true,
      user: "999:1000",
    }),
    thirdParty({
      name: "redis-cache",
      tier: "data",
      description:
        "Product's catalog read cache and its change channel: evicts entries when full, keeps nothing",
      image: { kind: "third-party", image: "redis" },
      ports: [{ name: "redis", port: REDIS_CACHE_PORT }],
      // A cache: no RDB snapshot, no AOF, no volume; a restart starts it empty, which costs
      // product a few MariaDB reads. Full, it evicts cache entries (`REDIS_CACHE_EVICTION`) and
      // keeps taking writes. Its own ACL file, with `default` off, like the main one.
      args: [
        "redis-server",
        "--port",
        String(REDIS_CACHE_PORT),
        "--save",
        "",
        "--appendonly",
        "no",
        "--aclfile",
        "/run/secrets/redis-cache-acl",
        "--maxmemory",
        `${redisMaxMemoryMiB(scale(128))}mb`,
        "--maxmemory-policy",
        REDIS_CACHE_EVICTION,
      ],
      networks: ["data"],
      configFiles: [{ name: "redis-cache-acl", mountPath: "/run/secrets/redis-cache-acl", secret: true }],
      health: redisHealth(REDIS_CACHE_PORT),
      resources: { cpuMillis: scale(50), memoryMiB: scale(128) },
      stateful: false,
      user: "999:1000",
      // It writes no file: the root filesystem is read-only, and the image's VOLUME /data (its
      // working directory) is a scratch tmpfs rather than an anonymous volume.
      readOnlyRootFilesystem: true,
      tmpfs: ["/data"],
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
