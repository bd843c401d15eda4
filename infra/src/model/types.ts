/**
 * The target-neutral model of the platform: plain typed data, no Pulumi import, so that the
 * Docker target, the Kubernetes target and the local run (processes on one machine) all render
 * the very same description. A workload's port, env, secrets, networks, health check and route
 * are written here once.
 */

/** The platform's networks; Kubernetes renders the flows inside them as NetworkPolicies. */
export type NetworkName =
  | "traefik-public"
  | "frontend"
  | "backend"
  | "data"
  | "metrics"
  | "monitoring"
  | "tracing";

export interface NetworkSpec {
  name: NetworkName;
  /** An internal network has no route to the outside world. */
  internal: boolean;
  description: string;
}

/** Every generated secret. Each reaches a process as the file `/run/secrets/<name>`. */
export type SecretName =
  | "mariadb-root-password"
  | "db-password-auth"
  | "db-password-product"
  | "db-password-order"
  | "db-password-payment"
  | "jwt-signing-key"
  /** One broker password per service that uses RabbitMQ. */
  | `rabbitmq-password-${string}`
  /** One Redis password per service that uses Redis. */
  | `redis-password-${string}`
  /** The Ed25519 key a service signs its service tokens with, and its public half. */
  | `service-key-${string}`
  | "minio-access-key"
  | "minio-secret-key"
  | "grafana-admin-password"
  | "admin-password"
  | "admin-email"
  | "traefik-dashboard-password";

export interface SecretSpec {
  name: SecretName;
  /**
   * `password`: random printable string; `ed25519-pem`: a PKCS#8 PEM private key;
   * `email`: `admin-<random>@<domain>`, an address nobody can guess;
   * `ed25519-public`: the SPKI PEM public half of the `ed25519-pem` secret `of` (not secret in
   * itself, but it travels like one so every target mounts it the same way).
   */
  kind: "password" | "ed25519-pem" | "ed25519-public" | "email";
  length?: number;
  /** For `email`: the domain of the address. */
  domain?: string;
  /** For `ed25519-public`: the private key it is the public half of. */
  of?: SecretName;
  description: string;
}

/** Where secrets are mounted in every container target. */
export const SECRETS_DIR = "/run/secrets";

/**
 * A value in a workload's environment.
 * - a plain string is a literal;
 * - `secret` becomes `<NAME>_FILE=<path of the secret file>` (never the value itself), or
 *   `fileVar=<path>` for images with another convention (Grafana's `__FILE`);
 * - `url`, `host` and `port` point at another workload and are resolved by each target
 *   (container DNS name, Kubernetes Service, or 127.0.0.1 in the local run).
 */
export type EnvValue =
  | string
  | { kind: "secret"; secret: SecretName; fileVar?: string }
  | { kind: "url"; workload: string; scheme: "http" | "redis" | "amqp" | "ws"; path?: string }
  | { kind: "host"; workload: string }
  | { kind: "port"; workload: string }
  /** Who may tell the process the client's address (X-Forwarded-For): these workloads only. */
  | { kind: "trusted-peers"; workloads: string[] }
  /** A JSON object from each name to the path of a secret file (e.g. callers' public keys). */
  | { kind: "secret-files"; secrets: Record<string, SecretName> };

export type Tier = "edge" | "app" | "data" | "observability";

/** How to obtain a workload's image. */
export type ImageSource =
  /** Built from a Dockerfile in this repo (context: the repo root), with build args. */
  | {
      kind: "build";
      dockerfile: string;
      args: Record<string, string>;
      /**
       * Repo paths (files or folders) whose content makes the image; targets hash them into an
       * immutable tag, so an image changes exactly when one of them does.
       */
      sources?: string[];
    }
  /** A pinned third-party image, by key into THIRD_PARTY_IMAGES. */
  | { kind: "third-party"; image: ThirdPartyImageKey }
  /**
   * An image built elsewhere from this repo (a release's `<registry>/<service>:<revision>`): a
   * canary's second version. Run as given, never built here.
   */
  | { kind: "reference"; ref: string };

export type ThirdPartyImageKey =
  | "mariadb"
  | "redis"
  | "rabbitmq"
  | "minio"
  | "elasticsearch"
  | "traefik"
  | "prometheus"
  | "alertmanager"
  | "grafana"
  | "loki"
  | "promtail"
  | "tempo"
  /** Not a workload: the toolbox targets use for one-shot jobs (preparing volume ownership). */
  | "busybox";

export interface HealthCheck {
  /** `http`: GET path on the workload's main port answers 2xx; `exec`: command exits 0. */
  kind: "http" | "exec";
  path?: string;
  /**
   * What inside the image can make the HTTP request when a container runtime (Docker) runs the
   * check itself: `wget` (busybox-based images), `bash` (its `/dev/tcp`: our Node
   * images and Debian/Ubuntu images without an HTTP client; no runtime starts per probe). Kubernetes probes ignore it.
   */
  probe?: "wget" | "bash";
  /** The named port an `http` check asks, when not the workload's first (Tempo: OTLP comes first). */
  port?: string;
  command?: string[];
  intervalSeconds: number;
  timeoutSeconds: number;
  retries: number;
  startPeriodSeconds: number;
}

export type PublicHost = "app" | "grafana" | "traefik" | "prometheus" | "alertmanager";

export interface Route {
  /** Which public host serves it; every host but `app` and `grafana` sits behind the edge's basic auth. */
  host: PublicHost;
  /** Path prefix matched at the edge (longest prefix wins). */
  pathPrefix: string;
  /** Port name on the workload that receives the traffic. */
  port: string;
}

export interface ScrapeTarget {
  port: string;
  path: string;
}

export interface Volume {
  name: string;
  mountPath: string;
  sizeGi: number;
  /**
   * `uid:gid` that must own the volume's root before the workload starts, for images that do
   * not ship the directory (a fresh volume is root-owned). Docker prepares it with a one-shot
   * `chown`; Kubernetes with `fsGroup`.
   */
  ownedBy?: string;
}

/**
 * A generated file mounted read-only at `mountPath`. Its content comes from the config-file
 * generators (`infra/src/config-files`). `secret` files embed secret material (a password hash,
 * a users file) and travel like secrets: Docker secrets in Swarm, Kubernetes Secrets, never a
 * ConfigMap or Docker config.
 */
export interface ConfigFile {
  name: string;
  mountPath: string;
  secret?: boolean;
  /**
   * The image ships other files in the same directory (a `conf.d`): targets that mount whole
   * directories (Kubernetes) mount this file alone, so the image's own files stay visible.
   */
  besideImageFiles?: boolean;
}

export interface Resources {
  /** CPU request in millicores; the limit is twice the request. */
  cpuMillis: number;
  /** Memory request and limit in MiB. */
  memoryMiB: number;
}

export interface OwnedDatabase {
  name: string;
  user: string;
  passwordSecret: SecretName;
}

/** How a Node workload runs as a plain process in the local run (no containers). */
export interface LocalProcess {
  /** Workspace folder, relative to the repo root. */
  workspace: string;
  /** Entry file relative to the workspace, after `tsc -b`. */
  entry: string;
}

export interface Workload {
  name: string;
  tier: Tier;
  description: string;
  image: ImageSource;
  ports: { name: string; port: number }[];
  /** Container command/args override (third-party images only). */
  args?: string[];
  env: Record<string, EnvValue>;
  /** Secrets mounted as files beyond the ones `env` refers to (e.g. read by an entrypoint). */
  extraSecrets: SecretName[];
  networks: NetworkName[];
  volumes: Volume[];
  /** Generated config files mounted read-only, by path; contents come from the config-file generators. */
  configFiles: ConfigFile[];
  health?: HealthCheck;
  /** Readiness (dependencies answer), when distinct from liveness. */
  readinessPath?: string;
  /**
   * Readiness as a TCP connect to this named port, for workloads whose health command is too
   * costly to run as often as readiness is probed (RabbitMQ's CLI starts an Erlang VM).
   */
  readinessTcpPort?: string;
  routes: Route[];
  scrape?: ScrapeTarget;
  replicas: number;
  /** Horizontal autoscaling bounds (Kubernetes); Swarm uses `replicas`. */
  autoscale?: { min: number; max: number; cpuPercent: number };
  resources: Resources;
  /** Workloads that must be healthy before this one starts. */
  dependsOn: string[];
  /** Keeps data: a StatefulSet on Kubernetes, pinned to a manager in Swarm, `protect`ed in prod. */
  stateful: boolean;
  /** Runs as this uid:gid; `undefined` means the image's own non-root user must be trusted. */
  user?: string;
  readOnlyRootFilesystem: boolean;
  /** Writable scratch paths when the root filesystem is read-only. */
  tmpfs: string[];
  stopGracePeriodSeconds: number;
  /** Databases this workload owns on the shared MariaDB server. */
  databases: OwnedDatabase[];
  /** Needs the node's container logs (the log collector). */
  readsContainerLogs?: boolean;
  /** Present when the workload runs as a process in the local run. */
  local?: LocalProcess;
  /** Its own RabbitMQ user and what that user may do. */
  broker?: BrokerAccess;
  /**
   * Its own Redis ACL users, one per Redis instance it uses (`RedisAccess.instance`), and what
   * each may do there; absent when it uses none.
   */
  redis?: RedisAccess[];
  /** Its `/internal/*` routes and who may call each (checked by the runtime on service tokens). */
  internalRoutes?: InternalRoute[];
  /** The key it signs service tokens with, when it calls another service's internal routes. */
  serviceKey?: { private: SecretName; public: SecretName };
  /**
   * The version its metrics and logs are labelled with (`SERVICE_VERSION`); set on both sides of
   * a canary release.
   */
  version?: string;
  /**
   * Present on a canary: the stable workload it runs beside, and the percentage of the stable's
   * edge traffic it receives. It shares the stable's identity (users, keys, secrets).
   */
  canaryOf?: { workload: string; weight: number };
}

/** A second version of one routed service beside the first, with a share of its traffic. */
export interface CanarySettings {
  /** The stable workload (one the edge routes to). */
  service: string;
  /** The second version's image, as the engine or the cluster pulls it. */
  image: string;
  /** Percentage (0–100) of the service's edge traffic the canary receives. */
  weight: number;
  /** Its `version` label. */
  version: string;
  /** The stable's `version` label while the canary runs. */
  stableVersion: string;
  replicas: number;
}

/**
 * A service's broker user: it consumes its own queues (each with its `.retry` and `.dead`),
 * publishes only its own routing keys on the events exchange, and declares nothing (the broker
 * definitions, or the local run's provisioning, declare the topology).
 */
export interface BrokerAccess {
  user: string;
  passwordSecret: SecretName;
  /** Consumer queues it reads (the topology's queues whose consumer it is). */
  queues: string[];
  /** Binding keys of those queues (the topic read permission). */
  binds: string[];
  /** Routing keys it may publish on the events exchange (the topic write permission). */
  publishes: string[];
}

/**
 * The platform's Redis instances: `redis` keeps what must never vanish (carts, sessions, rate
 * limits, throttles: no eviction, persisted), `redis-cache` holds the catalog read cache and its
 * change channel (evicts cache entries when full, keeps nothing across a restart).
 */
export type RedisInstance = "redis" | "redis-cache";

/**
 * A service's Redis ACL user on one instance: keys `<key prefix><family>:*` of its own families,
 * the pub/sub channels it uses, and the commands its code (and the libraries it uses) send,
 * nothing else.
 */
export interface RedisAccess {
  /** The Redis workload the user lives on. */
  instance: RedisInstance;
  user: string;
  passwordSecret: SecretName;
  /** Key families under the key prefix. */
  keys: string[];
  /** Pub/sub channels under the key prefix. */
  channels: string[];
  /** Commands, lower case; `container|sub` names one subcommand. */
  commands: string[];
}

/** One internal route of a service and the services allowed to call it. */
export interface InternalRoute {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Express-style path; `:name` matches one segment. Always under `/internal/`. */
  path: string;
  callers: string[];
}

/** What varies between environments; everything else about the platform is fixed. */
export interface PlatformSettings {
  /** Stack or run name, e.g. `dev`, `prod`, `local`. */
  environment: string;
  /** Public host names; `app` serves the storefront at `/` and the API at `/api`. */
  hosts: Record<PublicHost, string>;
  /** `https` when TLS terminates at the edge. */
  publicScheme: "http" | "https";
  /**
   * Port the edge is published on when it is not the scheme's default (e.g. 8443 on a developer
   * machine); public URLs then carry it. Host names in `hosts` never carry a port in that case.
   */
  publicPort?: number;
  /** Replicas of each stateless app service (the storefront included). */
  appReplicas: number;
  /** Upper bound for autoscaled services; 0 disables autoscaling. */
  maxReplicas: number;
  /** Product search: Elasticsearch, or MariaDB full-text. */
  search: "elasticsearch" | "mariadb";
  /** Product images: MinIO, or a local folder. */
  images: "minio" | "local";
  /** Deploy Prometheus, Alertmanager, Grafana, Loki, Promtail, Tempo (and send traces there). */
  observability: boolean;
  /**
   * Share of new traces kept (0–1) when the gateway starts them; every service follows the
   * gateway's decision (docs/tracing.md). Defaults to 1.
   */
  traceSampleRatio?: number;
  /**
   * Prefix of every service's RabbitMQ and Redis user: `<prefix>-<service>`, each with its own
   * generated password (an isolated run puts its `isolation` prefix in front).
   */
  userPrefix: string;
  /**
   * Prefix of this run's names on stores it shares with other runs (tests, the benchmark,
   * images:test beside a developer's `npm run dev`): its databases and their users, its Redis keys
   * (`shopstream:<isolation>`), its exchanges and queues, and its services' broker and Redis users
   * (`<isolation><userPrefix>-<service>`). Up to 20 of a-z, 0-9 and _; unset: none.
   */
  isolation?: string;
  /**
   * Every app service shares one host's network (the local run's processes, images:test's
   * containers on the host network): each listens on 127.0.0.1, at its model port plus
   * `portOffset` (the gateway at `gatewayPort` when set), and the others reach it there, so a
   * second run can sit beside the first. Unset: each listens on every interface of its own
   * network namespace, at its model port (containers).
   */
  sharedHost?: { portOffset: number; gatewayPort?: number };
  /** RabbitMQ vhost, when not the platform's own (`shopstream`): a developer's broker uses `/`. */
  brokerVhost?: string;
  /**
   * The shop administrator's e-mail; the password is the `admin-password` secret. Unset: a
   * generated `admin-email` secret (`admin-<random>@<app host>`), so nobody can guess it.
   */
  adminEmail?: string;
  /** Multiplies every workload's memory and CPU reservation (prod sizes). */
  resourceScale: number;
  logLevel: "debug" | "info" | "warn" | "error";
  /**
   * `lifted` raises the gateway's rate limits out of reach, for load tests from one address (the
   * local run's `LOCAL_RATE_LIMITS=off`); defaults to `enforced`.
   */
  rateLimits?: "enforced" | "lifted";
  /** How long metrics (Prometheus), logs (Loki) and traces (Tempo) are kept; defaults 15, 7 and 3 days. */
  retentionDays?: { metrics: number; logs: number; traces?: number };
  /** Replicas of the edge where it can share its state (Kubernetes); defaults to 1. */
  edgeReplicas?: number;
  /** A canary release of one routed service (docs/delivery.md). */
  canary?: CanarySettings;
}

export interface Platform {
  settings: PlatformSettings;
  networks: NetworkSpec[];
  secrets: SecretSpec[];
  workloads: Workload[];
  /** RabbitMQ topology shared by the broker definitions and the services. */
  messaging: MessagingTopology;
}

export interface MessagingTopology {
  vhost: string;
  exchange: string;
  deadLetterExchange: string;
  /**
   * Where a consumer parks a message for a retry: a topic exchange that routes by queue name to
   * `<queue>.retry`, so a service may only retry into its own queues (topic permissions).
   */
  retryExchange: string;
  /** One durable queue per consumer, with the routing keys it binds. */
  queues: { name: string; consumer: string; bindings: string[] }[];
  /** The routing keys each service publishes (no other service may publish them). */
  publishers: Record<string, string[]>;
}
