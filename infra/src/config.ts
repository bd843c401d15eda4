/**
 * The stack configuration: the only place that reads `pulumi.Config`. Every key is typed,
 * validated and documented here (the README repeats the documentation); a wrong value stops
 * the program with a message that names the key, before any resource is declared.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { PlatformSettings, PublicHost } from "./model/index.js";

export const CONFIG_NAMESPACE = "shopstream";

/** Thrown for a missing, unknown or invalid setting; the message names the key. */
export class ConfigError extends pulumi.RunError {
  override name = "ConfigError";
}

// Values arrive as strings (`pulumi config set`) or, inside structured keys, as JSON values.
const fromString = (v: unknown): unknown => {
  if (typeof v !== "string") return v;
  const t = v.trim();
  if (t === "true") return true;
  if (t === "false") return false;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return v;
};
const bool = (fallback: boolean) =>
  z.preprocess(fromString, z.boolean({ error: "must be true or false" })).default(fallback);
const int = (min: number, max: number, fallback: number) => {
  const error = `must be an integer between ${min} and ${max}`;
  return z
    .preprocess(fromString, z.number({ error }).int({ error }).min(min, { error }).max(max, { error }))
    .default(fallback);
};
const num = (min: number, max: number, fallback: number) => {
  const error = `must be a number between ${min} and ${max}`;
  return z
    .preprocess(fromString, z.number({ error }).min(min, { error }).max(max, { error }))
    .default(fallback);
};
const oneOf = <T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
  z.enum(values, { error: `must be one of ${values.join(", ")}` }).default(fallback as never);
const hostname = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, {
    error: "must be a lower-case DNS name such as shop.example.com",
  });
const email = z.email({ error: "must be an e-mail address" });
/** A Kubernetes object name (RFC 1123 subdomain) and a namespace name (RFC 1123 label). */
const dnsSubdomain = z
  .string()
  .regex(/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, {
    error: "must be a lower-case Kubernetes name such as letsencrypt-prod",
  });
const dnsLabel = (max: number) =>
  z.string().regex(new RegExp(`^(?=.{1,${max}}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?$`), {
    error: `must be a lower-case DNS label of at most ${max} characters`,
  });
const cidr = z.cidrv4({ error: "must be a list of IPv4 CIDRs such as 169.254.20.10/32" });
const registryHost = z.string().regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?$/, {
  error: "must be a registry such as registry.example.com:5000 or ghcr.io/acme",
});

/**
 * Every setting, with the documentation a user reads in docs/configuration.md. Keys are set with
 * `pulumi config set <key> <value>` (structured keys with `--path`, e.g. `docker.swarm`).
 */
export const CONFIG_DOCS = {
  target:
    "Where the platform runs: `docker` (one host or a Swarm) or `kubernetes` (the cluster of a kubeconfig context, see docs/kubernetes.md).",
  "docker.swarm":
    "`true` renders every workload as a Swarm service (`docker swarm init` first); `false` runs containers on one host.",
  "docker.host":
    "Docker engine to deploy to (`unix:///var/run/docker.sock`, `ssh://user@host`, `tcp://host:2376`); defaults to `DOCKER_HOST` or the local socket.",
  "docker.dataNode":
    "Swarm only, and required there: hostname of the node that runs the stateful parts (their volumes are local to it) and the edge (its ports are published on that node, in host mode, so clients keep their own addresses). Point the public DNS names at it.",
  "docker.debugPorts":
    "`true` also publishes the data stores (MariaDB 3306, Redis 6379, RabbitMQ 5672, Elasticsearch 9200, MinIO 9000) on 127.0.0.1 for debugging, through an extra non-internal `debug` network they join (which also gives them a route out); only Traefik is published otherwise.",
  domain:
    "Base public domain. The shop is served at `<domain>`, the dashboards at `grafana.`, `traefik.`, `prometheus.` and `alertmanager.<domain>`. `*.localhost` resolves to this machine.",
  "hosts.<name>":
    "Overrides one public host name (`app`, `grafana`, `traefik`, `prometheus`, `alertmanager`).",
  httpPort: "Host port Traefik publishes for HTTP (redirects to HTTPS).",
  httpsPort: "Host port Traefik publishes for HTTPS; URLs carry it when it is not 443.",
  "tls.mode":
    "`self-signed`: Traefik's default certificate (browsers warn; fine on a laptop). `acme`: Let's Encrypt certificates for every host (needs a public domain, ports 80/443 reachable, and `tls.acmeEmail`). `cert-manager` (Kubernetes only): cert-manager issues every host's certificate from `tls.clusterIssuer`.",
  "tls.acmeEmail": "Contact e-mail for the ACME account; required with `tls.mode: acme`.",
  "tls.acmeCaServer": "ACME directory URL, e.g. Let's Encrypt staging while testing; defaults to production.",
  "tls.clusterIssuer":
    "cert-manager ClusterIssuer that signs the certificates (it must exist in the cluster); required with `tls.mode: cert-manager`.",
  "registry.server":
    "Registry the service images are tagged for, e.g. `ghcr.io/acme`. Unset: images stay on the engine.",
  "registry.push":
    "`true` pushes the built images to `registry.server` (needed for a multi-node Swarm; required on Kubernetes, whose nodes pull them).",
  "registry.username": "Registry user for pushing; the password is the secret `registryPassword`.",
  registryPassword: "Registry password or token (`pulumi config set --secret registryPassword …`).",
  registryMirror:
    "Pulls every third-party image through this mirror (`mirror.example.com` rewrites `docker.io/library/redis:7.4.2-alpine` to `mirror.example.com/library/redis:7.4.2-alpine`).",
  imagePlatform:
    "Platform `pulumi up` builds the service images for, e.g. `linux/amd64`; defaults to the engine's. Must be one of `platforms`.",
  platforms:
    "Platforms every service image is released for (`linux/amd64`, `linux/arm64`): the images workflow builds each one for all of them from the same Dockerfiles; defaults to both (docs/delivery.md).",
  "canary.service":
    "Runs a second version of this service beside the first: `gateway` or `storefront` (the services the edge routes to; docs/delivery.md).",
  "canary.image":
    "The second version's image, with a tag or digest, e.g. `ghcr.io/acme/shopstream/gateway:<revision>` from the images workflow.",
  "canary.weight":
    "Percentage of the service's traffic the canary receives (0–100; default 10). `100` promotes it, `0` rolls it back; both keep it running.",
  "canary.version":
    "The canary's `version` label on metrics and logs; defaults to the image's tag (or digest).",
  "canary.stableVersion": "The stable side's `version` label while a canary runs; defaults to `stable`.",
  "canary.replicas": "Replicas of the canary (Swarm, Kubernetes); default 1.",
  appReplicas:
    "Replicas of each stateless app service and the storefront (Swarm; one container each on one host).",
  maxReplicas:
    "Upper bound for autoscaled services (Kubernetes); 0 disables autoscaling. Must be 0 or at least `appReplicas`.",
  search: "Product search backend: `elasticsearch`, or `mariadb` (full-text) to save memory.",
  images: "Product image storage: `minio` (S3-compatible), or `local` (a folder in the product container).",
  observability: "`true` deploys Prometheus, Alertmanager, Grafana, Loki and Promtail.",
  resourceScale: "Multiplies every memory limit and CPU reservation (0.25–8).",
  adminEmail:
    "E-mail of the shop's admin account; unset, one nobody can guess is generated (stack output shopAdminEmail, a secret). Its password is generated.",
  logLevel: "Log level of the app services: `debug`, `info`, `warn`, `error`.",
  logRetentionDays: "Days Loki keeps logs.",
  metricsRetentionDays: "Days Prometheus keeps metrics.",
  traceRetentionDays: "Days Tempo keeps traces (docs/tracing.md).",
  traceSampleRatio:
    "Share of new traces the gateway keeps, from 0 to 1; every other service follows its caller's decision (docs/tracing.md).",
  protect: "`true` protects the stateful volumes from `pulumi destroy` (use in prod).",
  rabbitmqUser:
    "Prefix of the services' own RabbitMQ and Redis users (`<prefix>-<service>`, each with a generated password).",
  "kubernetes.context": "kubeconfig context to deploy to; defaults to the current context.",
  "kubernetes.namespace":
    "Namespace of the platform, created and labelled for the `restricted` Pod Security Standard; Promtail runs in `<namespace>-node-agents`.",
  "kubernetes.storageClass":
    "StorageClass of the persistent volume claims; defaults to the cluster's default class.",
  "kubernetes.ingressClass": "Name of the IngressClass Traefik serves; defaults to `shopstream-<stack>`.",
  "kubernetes.edgeReplicas":
    "Traefik replicas; defaults to 2, or 1 with `tls.mode: acme` (its certificates live on one volume), which allows no more.",
  "kubernetes.dnsCidrs":
    'Extra DNS resolvers every pod may query on port 53, as CIDRs, besides kube-system\'s pods, e.g. `["169.254.20.10/32"]` for NodeLocal DNSCache.',
  "kubernetes.apiServerCidrs":
    "Where the Kubernetes API server is, as CIDRs, for the pods that read it (Promtail); defaults to anywhere (`0.0.0.0/0`). Cilium matches the API server by identity, not address: see docs/verification.md.",
  "kubernetes.serviceType":
    "How Traefik's HTTP and HTTPS ports are exposed: `LoadBalancer` (cloud load balancer, MetalLB) or `NodePort`.",
} as const;

const HOST_NAMES = ["app", "grafana", "traefik", "prometheus", "alertmanager"] as const;
/** Platforms the images are built and verified for (docs/delivery.md). */
export const RELEASE_PLATFORMS = ["linux/amd64", "linux/arm64"] as const;

/** `registry/path/name:tag`, `…@sha256:<digest>` or both: a canary runs exactly one image. */
const imageRef = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d+)?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
    { error: "must be an image reference such as ghcr.io/acme/shopstream/gateway:1a2b3c4" },
  )
  .refine((v) => /@sha256:|:[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(v.replace(/^[^/]*\//, "")), {
    error: "must name a tag or a digest (never an implicit latest)",
  })
  .refine((v) => !/:latest(@|$)/.test(v), { error: "must name a release, not latest (it moves)" });
/** A label value Prometheus, Loki and Kubernetes all accept. */
const versionLabel = z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9_.+-]{0,61}[A-Za-z0-9])?$/, {
  error: "must be letters, digits and . _ + - (at most 63), such as 1.4.0 or 1a2b3c4",
});

/** The version label an image reference implies: its tag, or the start of its digest. */
export function versionOfImage(ref: string): string {
  const [name = "", digestPart] = ref.split("@");
  const digest = /^sha256:([a-f0-9]{12})/.exec(digestPart ?? "");
  const tag = /:([A-Za-z0-9_][A-Za-z0-9_.-]*)$/.exec(name.slice(name.lastIndexOf("/") + 1));
  const version = tag?.[1] ?? (digest ? `sha256-${digest[1]}` : "unknown");
  return version.slice(0, 63).replace(/[^A-Za-z0-9]+$/, "");
}

const schema = z
  .object({
    target: oneOf(["docker", "kubernetes"] as const, "docker"),
    docker: z
      .object(
        {
          swarm: bool(false),
          host: z
            .string()
            .regex(/^(unix|tcp|ssh|npipe):\/\/\S+$/, {
              error: "must be a unix://, tcp://, ssh:// or npipe:// URL",
            })
            .optional(),
          dataNode: z
            .string()
            .regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, {
              error: "must be the hostname of a Swarm node (`docker node ls`)",
            })
            .optional(),
          debugPorts: bool(false),
        },
        { error: 'must be an object such as {"swarm": false}' },
      )
      .strict()
      .default({ swarm: false, debugPorts: false }),
    domain: hostname.default("shopstream.localhost"),
    hosts: z
      .object(
        Object.fromEntries(HOST_NAMES.map((h) => [h, hostname.optional()])) as Record<
          PublicHost,
          z.ZodOptional<typeof hostname>
        >,
      )
      .strict()
      .default({}),
    httpPort: int(1, 65535, 80),
    httpsPort: int(1, 65535, 443),
    tls: z
      .object({
        mode: oneOf(["self-signed", "acme", "cert-manager"] as const, "self-signed"),
        acmeEmail: email.optional(),
        acmeCaServer: z.url({ error: "must be an https URL" }).optional(),
        clusterIssuer: dnsSubdomain.optional(),
      })
      .strict()
      .default({ mode: "self-signed" }),
    registry: z
      .object({
        server: registryHost.optional(),
        push: bool(false),
        username: z.string().min(1).optional(),
      })
      .strict()
      .default({ push: false }),
    registryMirror: registryHost.optional(),
    imagePlatform: z
      .string()
      .regex(/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/, { error: "must look like linux/amd64" })
      .optional(),
    platforms: z
      .array(z.enum(RELEASE_PLATFORMS, { error: `must list platforms of ${RELEASE_PLATFORMS.join(", ")}` }), {
        error: `must be a list such as ["linux/amd64", "linux/arm64"]`,
      })
      .min(1, { error: "must name at least one platform" })
      .refine((l) => new Set(l).size === l.length, { error: "must not repeat a platform" })
      .default([...RELEASE_PLATFORMS]),
    canary: z
      .object(
        {
          service: z.string().regex(/^[a-z][a-z0-9-]*$/, { error: "must name a service such as gateway" }),
          image: imageRef,
          weight: int(0, 100, 10),
          version: versionLabel.optional(),
          stableVersion: versionLabel.default("stable"),
          replicas: int(1, 20, 1),
        },
        { error: 'must be an object such as {"service": "gateway", "image": "…", "weight": 10}' },
      )
      .strict()
      .optional(),
    appReplicas: int(1, 20, 1),
    maxReplicas: int(0, 50, 0),
    search: oneOf(["elasticsearch", "mariadb"] as const, "elasticsearch"),
    images: oneOf(["minio", "local"] as const, "minio"),
    observability: bool(true),
    resourceScale: num(0.25, 8, 1),
    adminEmail: email.optional(),
    logLevel: oneOf(["debug", "info", "warn", "error"] as const, "info"),
    logRetentionDays: int(1, 365, 7),
    metricsRetentionDays: int(1, 365, 15),
    traceRetentionDays: int(1, 90, 3),
    traceSampleRatio: num(0, 1, 1),
    protect: bool(false),
    rabbitmqUser: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,31}$/, { error: "must be a lower-case user name" })
      .default("shopstream"),
    kubernetes: z
      .object(
        {
          context: z.string().min(1, { error: "must name a kubeconfig context" }).optional(),
          // Leaves room for the `-node-agents` suffix within a namespace name's 63 characters.
          namespace: dnsLabel(50).default("shopstream"),
          storageClass: dnsSubdomain.optional(),
          ingressClass: dnsSubdomain.optional(),
          edgeReplicas: z
            .preprocess(
              fromString,
              z
                .number({ error: "must be an integer between 1 and 10" })
                .int({ error: "must be an integer between 1 and 10" })
                .min(1, { error: "must be an integer between 1 and 10" })
                .max(10, { error: "must be an integer between 1 and 10" }),
            )
            .optional(),
          serviceType: oneOf(["LoadBalancer", "NodePort"] as const, "LoadBalancer"),
          dnsCidrs: z.array(cidr).min(1).optional(),
          apiServerCidrs: z.array(cidr).min(1).optional(),
        },
        { error: 'must be an object such as {"namespace": "shopstream"}' },
      )
      .strict()
      .default({ namespace: "shopstream", serviceType: "LoadBalancer" }),
  })
  .superRefine((c, ctx) => {
    if (c.target === "docker" && c.docker.swarm && !c.docker.dataNode) {
      ctx.addIssue({
        code: "custom",
        path: ["docker", "dataNode"],
        message:
          "is required when docker.swarm is true: the hostname of the node that keeps the volumes and publishes the edge",
      });
    }
    if (c.imagePlatform && !(c.platforms as string[]).includes(c.imagePlatform)) {
      ctx.addIssue({ code: "custom", path: ["imagePlatform"], message: "must be one of platforms" });
    }
    if (c.canary) {
      const candidates = ["gateway", "storefront"];
      if (!candidates.includes(c.canary.service)) {
        ctx.addIssue({
          code: "custom",
          path: ["canary", "service"],
          message: `must be ${candidates.join(" or ")}: the edge weighs the traffic it routes, and only these are routed`,
        });
      }
      const version = c.canary.version ?? versionOfImage(c.canary.image);
      if (version === c.canary.stableVersion) {
        ctx.addIssue({
          code: "custom",
          path: ["canary", "version"],
          message: `must differ from canary.stableVersion (${version}): metrics and logs could not tell them apart`,
        });
      }
    }
    if (c.maxReplicas !== 0 && c.maxReplicas < c.appReplicas) {
      ctx.addIssue({ code: "custom", path: ["maxReplicas"], message: "must be 0 or at least appReplicas" });
    }
    if (c.tls.mode === "acme") {
      if (!c.tls.acmeEmail) {
        ctx.addIssue({
          code: "custom",
          path: ["tls", "acmeEmail"],
          message: "is required when tls.mode is acme",
        });
      }
      if (c.domain.endsWith("localhost")) {
        ctx.addIssue({
          code: "custom",
          path: ["domain"],
          message: "must be a public domain when tls.mode is acme (ACME cannot issue for localhost)",
        });
      }
    }
    if (c.registry.push && !c.registry.server) {
      ctx.addIssue({
        code: "custom",
        path: ["registry", "server"],
        message: "is required when registry.push is true",
      });
    }
    if (c.httpPort === c.httpsPort) {
      ctx.addIssue({ code: "custom", path: ["httpsPort"], message: "must differ from httpPort" });
    }
    if (c.tls.mode === "cert-manager") {
      if (c.target !== "kubernetes") {
        ctx.addIssue({
          code: "custom",
          path: ["tls", "mode"],
          message: "cert-manager needs target kubernetes",
        });
      } else if (!c.tls.clusterIssuer) {
        ctx.addIssue({
          code: "custom",
          path: ["tls", "clusterIssuer"],
          message: "is required when tls.mode is cert-manager",
        });
      }
    }
    if (c.target === "kubernetes") {
      // The cluster's nodes pull the service images: they must be in a registry.
      if (!c.registry.server) {
        ctx.addIssue({
          code: "custom",
          path: ["registry", "server"],
          message: "is required when target is kubernetes (the nodes pull the service images from it)",
        });
      } else if (!c.registry.push) {
        ctx.addIssue({
          code: "custom",
          path: ["registry", "push"],
          message: "must be true when target is kubernetes (the nodes pull the service images from it)",
        });
      }
      if (c.tls.mode === "acme" && (c.kubernetes.edgeReplicas ?? 1) > 1) {
        ctx.addIssue({
          code: "custom",
          path: ["kubernetes", "edgeReplicas"],
          message: "must be 1 with tls.mode acme (Traefik keeps its ACME certificates on one volume)",
        });
      }
    }
  });

/** Keys holding structured values (YAML maps in Pulumi.<stack>.yaml). */
const OBJECT_KEYS = new Set(["docker", "hosts", "tls", "registry", "kubernetes", "platforms", "canary"]);
/** Keys read only as secrets. */
export const SECRET_KEYS = ["registryPassword"] as const;
export const KNOWN_KEYS = [...Object.keys(schema.shape), ...SECRET_KEYS];

export type StackSettings = z.output<typeof schema>;

export interface StackConfig extends StackSettings {
  /** Stack name, e.g. `dev`. */
  stack: string;
  /** Resolved public host names. */
  publicHosts: Record<PublicHost, string>;
  /** `-` joined prefix of every Docker object this stack creates. */
  prefix: string;
}

/**
 * Validates raw settings (key → string as `pulumi config` stores it, or the JSON of a structured
 * key). Pure, so the same rules can be tested without a Pulumi engine.
 */
export function parseStackConfig(raw: Record<string, string | undefined>, stack: string): StackConfig {
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (!KNOWN_KEYS.includes(key)) {
      throw new ConfigError(
        `${CONFIG_NAMESPACE}:${key} is not a setting of this program (known: ${KNOWN_KEYS.join(", ")})`,
      );
    }
    if ((SECRET_KEYS as readonly string[]).includes(key)) continue;
    if (OBJECT_KEYS.has(key)) {
      try {
        values[key] = JSON.parse(value);
      } catch {
        throw new ConfigError(
          `${CONFIG_NAMESPACE}:${key} must be a structured value (set it with --path, e.g. ${key}.x)`,
        );
      }
    } else {
      values[key] = value;
    }
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String);
    let message = issue.message;
    if (issue.code === "unrecognized_keys") {
      path.push(...issue.keys);
      message = "is not a known setting";
    }
    throw new ConfigError(`${CONFIG_NAMESPACE}:${path.join(".")} ${message}`);
  }
  const c = parsed.data;
  const publicHosts: Record<PublicHost, string> = {
    app: c.hosts.app ?? c.domain,
    grafana: c.hosts.grafana ?? `grafana.${c.domain}`,
    traefik: c.hosts.traefik ?? `traefik.${c.domain}`,
    prometheus: c.hosts.prometheus ?? `prometheus.${c.domain}`,
    alertmanager: c.hosts.alertmanager ?? `alertmanager.${c.domain}`,
  };
  return { ...c, stack, publicHosts, prefix: `shopstream-${stack}` };
}

/** What the model needs from the stack configuration. */
export function platformSettings(c: StackConfig): PlatformSettings {
  return {
    environment: c.stack,
    hosts: c.publicHosts,
    publicScheme: "https",
    publicPort: c.httpsPort,
    appReplicas: c.appReplicas,
    maxReplicas: c.maxReplicas,
    search: c.search,
    images: c.images,
    observability: c.observability,
    userPrefix: c.rabbitmqUser,
    // Unset: a generated address (the `admin-email` secret), which nobody can guess.
    ...(c.adminEmail ? { adminEmail: c.adminEmail } : {}),
    resourceScale: c.resourceScale,
    logLevel: c.logLevel,
    retentionDays: {
      metrics: c.metricsRetentionDays,
      logs: c.logRetentionDays,
      traces: c.traceRetentionDays,
    },
    traceSampleRatio: c.traceSampleRatio,
    ...(c.target === "kubernetes"
      ? { edgeReplicas: c.kubernetes.edgeReplicas ?? (c.tls.mode === "acme" ? 1 : 2) }
      : {}),
    ...(c.canary
      ? {
          canary: {
            service: c.canary.service,
            image: c.canary.image,
            weight: c.canary.weight,
            version: c.canary.version ?? versionOfImage(c.canary.image),
            stableVersion: c.canary.stableVersion,
            replicas: c.canary.replicas,
          },
        }
      : {}),
  };
}

export interface LoadedConfig {
  config: StackConfig;
  settings: PlatformSettings;
  /** Registry password, a Pulumi secret, when one is configured. */
  registryPassword?: pulumi.Output<string>;
}

/** Reads and validates this stack's configuration. Secrets only through secret getters. */
export function loadStackConfig(): LoadedConfig {
  const cfg = new pulumi.Config(CONFIG_NAMESPACE);
  const raw: Record<string, string | undefined> = {};
  // Key names only: values of secret keys are never read here.
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const fullKey of Object.keys(pulumi.runtime.allConfig())) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    if ((SECRET_KEYS as readonly string[]).includes(key)) {
      raw[key] = "";
      continue;
    }
    raw[key] = KNOWN_KEYS.includes(key) ? cfg.get(key) : "";
  }
  const config = parseStackConfig(raw, pulumi.getStack());
  const registryPassword = cfg.getSecret("registryPassword");
  return { config, settings: platformSettings(config), ...(registryPassword ? { registryPassword } : {}) };
}
