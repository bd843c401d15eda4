/**
 * The stack configuration: the only place that reads `pulumi.Config`. Every key is typed,
 * validated and documented here (its description is on its schema; `npm run docs:settings`
 * writes the table of docs/configuration.md from them); a wrong value stops the program with a
 * message that names the key, before any resource is declared.
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
 * Documents a setting for docs/configuration.md (markdown, links relative to docs/): what it does,
 * and the default a reader sees when the schema's own default does not say it (or has none).
 */
const doc = <T extends z.ZodType>(setting: T, description: string, shownDefault?: string): T =>
  setting.meta({ description, ...(shownDefault ? { shownDefault } : {}) });

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
    target: doc(
      oneOf(["docker", "kubernetes"] as const, "docker"),
      "Where the platform runs: `docker` (one host or a Swarm) or `kubernetes` (the cluster of a kubeconfig context; see [kubernetes.md](kubernetes.md)).",
    ),
    docker: z
      .object(
        {
          swarm: doc(
            bool(false),
            "`true` renders every workload as a Swarm service (`docker swarm init` first); `false` runs containers on one host.",
          ),
          host: doc(
            z
              .string()
              .regex(/^(unix|tcp|ssh|npipe):\/\/\S+$/, {
                error: "must be a unix://, tcp://, ssh:// or npipe:// URL",
              })
              .optional(),
            "Docker engine to deploy to (`unix:///var/run/docker.sock`, `ssh://user@host`, `tcp://host:2376`).",
            "`DOCKER_HOST`, else the local socket",
          ),
          dataNode: doc(
            z
              .string()
              .regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, {
                error: "must be the hostname of a Swarm node (`docker node ls`)",
              })
              .optional(),
            "Swarm only, and required there: hostname of the node that runs the stateful parts (their volumes are local to it) and the edge (published there in host mode, so clients keep their addresses). Point the public DNS names at it.",
          ),
          debugPorts: doc(
            bool(false),
            "`true` also publishes the data stores (MariaDB 3306, Redis 6379, the catalog cache's Redis 6380, RabbitMQ 5672, Elasticsearch 9200, MinIO 9000) on 127.0.0.1 for debugging (one host only), through an extra non-internal `debug` network they join (which also gives them a route out); otherwise only Traefik publishes ports.",
          ),
        },
        { error: 'must be an object such as {"swarm": false}' },
      )
      .strict()
      .default({ swarm: false, debugPorts: false }),
    domain: doc(
      hostname.default("shopstream.localhost"),
      "Base public domain: the shop at `<domain>`, the dashboards at `grafana.`, `traefik.`, `prometheus.` and `alertmanager.<domain>`. `*.localhost` resolves to this machine.",
    ),
    // Documented as a whole: one row, `hosts.<name>`.
    hosts: doc(
      z
        .object(
          Object.fromEntries(HOST_NAMES.map((h) => [h, hostname.optional()])) as Record<
            PublicHost,
            z.ZodOptional<typeof hostname>
          >,
        )
        .strict()
        .default({}),
      `Overrides one public host name (${HOST_NAMES.map((h) => `\`${h}\``).join(", ")}).`,
      "derived from `domain`",
    ),
    httpPort: doc(int(1, 65535, 80), "Host port Traefik publishes for HTTP, which only redirects to HTTPS."),
    httpsPort: doc(
      int(1, 65535, 443),
      "Host port Traefik publishes for HTTPS; URLs carry it when it is not 443.",
    ),
    tls: z
      .object({
        mode: doc(
          oneOf(["self-signed", "acme", "cert-manager"] as const, "self-signed"),
          "`self-signed`: Traefik's default certificate (browsers warn; fine on a laptop). `acme`: Let's Encrypt certificates for every host; needs a public `domain`, ports 80/443 reachable from the internet, and `tls.acmeEmail`. `cert-manager` (Kubernetes only): cert-manager issues every host's certificate from `tls.clusterIssuer`.",
        ),
        acmeEmail: doc(
          email.optional(),
          "Contact e-mail of the ACME account; required with `tls.mode: acme`.",
        ),
        acmeCaServer: doc(
          z.url({ error: "must be an https URL" }).optional(),
          "ACME directory URL, e.g. `https://acme-staging-v02.api.letsencrypt.org/directory` while testing.",
          "Let's Encrypt production",
        ),
        clusterIssuer: doc(
          dnsSubdomain.optional(),
          "cert-manager ClusterIssuer that signs the certificates (it must exist in the cluster); required with `tls.mode: cert-manager`.",
        ),
      })
      .strict()
      .default({ mode: "self-signed" }),
    registry: z
      .object({
        server: doc(
          registryHost.optional(),
          "Registry the service images are tagged for, e.g. `ghcr.io/acme`. Unset: images stay on the engine as `shopstream/<service>:<tag>`.",
        ),
        push: doc(
          bool(false),
          "`true` pushes the built images to `registry.server` (needed for a multi-node Swarm; required on Kubernetes, whose nodes pull them).",
        ),
        username: doc(
          z.string().min(1).optional(),
          "Registry user for pushing; the password is the secret `registryPassword`.",
        ),
      })
      .strict()
      .default({ push: false }),
    registryMirror: doc(
      registryHost.optional(),
      "Pulls every third-party image through this mirror: `mirror.example.com` turns `docker.io/library/redis:7.4.2-alpine` into `mirror.example.com/library/redis:7.4.2-alpine`.",
    ),
    imagePlatform: doc(
      z
        .string()
        .regex(/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/, { error: "must look like linux/amd64" })
        .optional(),
      "Platform `pulumi up` builds the service images for, e.g. `linux/amd64`. Must be one of `platforms`.",
      "the engine's",
    ),
    platforms: doc(
      z
        .array(
          z.enum(RELEASE_PLATFORMS, { error: `must list platforms of ${RELEASE_PLATFORMS.join(", ")}` }),
          {
            error: `must be a list such as ["linux/amd64", "linux/arm64"]`,
          },
        )
        .min(1, { error: "must name at least one platform" })
        .refine((l) => new Set(l).size === l.length, { error: "must not repeat a platform" })
        .default([...RELEASE_PLATFORMS]),
      "Platforms every service image is released for: the images workflow builds each one for all of them from the same Dockerfiles ([delivery.md](delivery.md#multi-arch-images)).",
    ),
    canary: z
      .object(
        {
          service: doc(
            z.string().regex(/^[a-z][a-z0-9-]*$/, { error: "must name a service such as gateway" }),
            "Runs a second version of this service beside the first: `gateway` or `storefront`, the services the edge routes to ([delivery.md](delivery.md#canary-releases)).",
          ),
          image: doc(
            imageRef,
            "The second version's image, with a tag or a digest, e.g. the images workflow's `ghcr.io/acme/shopstream/gateway:<commit>`.",
          ),
          weight: doc(
            int(0, 100, 10),
            "Percentage of the service's traffic the canary receives, 0–100. `100` promotes it, `0` rolls it back; both keep it running.",
          ),
          version: doc(
            versionLabel.optional(),
            "The canary's `version` label on metrics and logs.",
            "the image's tag (or `sha256-<12 hex>` of its digest)",
          ),
          stableVersion: doc(
            versionLabel.default("stable"),
            "The stable side's `version` label while a canary runs.",
          ),
          replicas: doc(int(1, 20, 1), "Replicas of the canary (Swarm, Kubernetes)."),
        },
        { error: 'must be an object such as {"service": "gateway", "image": "…", "weight": 10}' },
      )
      .strict()
      .optional(),
    appReplicas: doc(
      int(1, 20, 1),
      "Replicas of each stateless app service and the storefront (Swarm; one container each on one host). 1–20.",
    ),
    maxReplicas: doc(
      int(0, 50, 0),
      "Upper bound for autoscaled services (Kubernetes); 0 disables autoscaling; otherwise at least `appReplicas`.",
    ),
    search: doc(
      oneOf(["elasticsearch", "mariadb"] as const, "elasticsearch"),
      "Product search backend: `elasticsearch`, or `mariadb` (full-text) to save memory.",
    ),
    images: doc(
      oneOf(["minio", "local"] as const, "minio"),
      "Product image storage: `minio` (S3-compatible), or `local` (a folder in the product container).",
    ),
    observability: doc(bool(true), "Deploys Prometheus, Alertmanager, Grafana, Loki and Promtail."),
    resourceScale: doc(num(0.25, 8, 1), "Multiplies every memory limit and CPU reservation (0.25–8)."),
    adminEmail: doc(
      email.optional(),
      "E-mail of the shop's admin account; its password is generated (`shopAdminPassword`).",
      "generated: `admin-<random>@<domain>` (`shopAdminEmail`, a secret output)",
    ),
    logLevel: doc(
      oneOf(["debug", "info", "warn", "error"] as const, "info"),
      "Log level of the app services: `debug`, `info`, `warn`, `error`.",
    ),
    logRetentionDays: doc(int(1, 365, 7), "Days Loki keeps logs."),
    metricsRetentionDays: doc(int(1, 365, 15), "Days Prometheus keeps metrics."),
    traceRetentionDays: doc(int(1, 90, 3), "Days Tempo keeps traces ([docs/tracing.md](tracing.md))."),
    traceSampleRatio: doc(
      num(0, 1, 1),
      "Share of new traces the gateway keeps, from 0 to 1; every other service follows its caller's decision ([docs/tracing.md](tracing.md)).",
    ),
    protect: doc(bool(false), "`true` protects the stateful volumes from `pulumi destroy` (use in prod)."),
    rabbitmqUser: doc(
      z
        .string()
        .regex(/^[a-z][a-z0-9_-]{0,31}$/, { error: "must be a lower-case user name" })
        .default("shopstream"),
      "Prefix of the services' own RabbitMQ and Redis users (`<prefix>-<service>`), each with a generated password ([docs/least-privilege.md](least-privilege.md)).",
    ),
    kubernetes: z
      .object(
        {
          context: doc(
            z.string().min(1, { error: "must name a kubeconfig context" }).optional(),
            "kubeconfig context to deploy to.",
            "the current context",
          ),
          // Leaves room for the `-node-agents` suffix within a namespace name's 63 characters.
          namespace: doc(
            dnsLabel(50).default("shopstream"),
            "Namespace of the platform, created and labelled for the `restricted` Pod Security Standard; Promtail runs in `<namespace>-node-agents`.",
          ),
          storageClass: doc(
            dnsSubdomain.optional(),
            "StorageClass of the persistent volume claims.",
            "the cluster's default",
          ),
          ingressClass: doc(
            dnsSubdomain.optional(),
            "Name of the IngressClass Traefik serves.",
            "`shopstream-<stack>`",
          ),
          edgeReplicas: doc(
            z
              .preprocess(
                fromString,
                z
                  .number({ error: "must be an integer between 1 and 10" })
                  .int({ error: "must be an integer between 1 and 10" })
                  .min(1, { error: "must be an integer between 1 and 10" })
                  .max(10, { error: "must be an integer between 1 and 10" }),
              )
              .optional(),
            "Traefik replicas; `tls.mode: acme` allows only 1 (its certificates live on one volume).",
            "`2` (`1` with ACME)",
          ),
          serviceType: doc(
            oneOf(["LoadBalancer", "NodePort"] as const, "LoadBalancer"),
            "How Traefik's HTTP and HTTPS ports are exposed: `LoadBalancer` (cloud load balancer, MetalLB) or `NodePort`.",
          ),
          dnsCidrs: doc(
            z.array(cidr).min(1).optional(),
            "Extra DNS resolvers every pod may query on port 53, besides kube-system's pods, as CIDRs (`169.254.20.10/32` for NodeLocal DNSCache).",
          ),
          apiServerCidrs: doc(
            z.array(cidr).min(1).optional(),
            "Where the API server is, as CIDRs, for the pods that read it (Promtail); Cilium matches the API server by identity, not address, and needs its own policy instead ([docs/verification.md](verification.md)).",
            "`0.0.0.0/0`",
          ),
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
/** Keys read only as secrets, through Pulumi's secret getters: never parsed with the others. */
const secrets = z.object({
  registryPassword: doc(
    z.string().optional(),
    "Registry password or token, set as a secret: `pulumi config set --secret registryPassword …`.",
  ),
});
export const SECRET_KEYS = Object.keys(secrets.shape) as (keyof typeof secrets.shape)[];
export const KNOWN_KEYS = [...Object.keys(schema.shape), ...SECRET_KEYS];

/** The documented schemas, for docs/configuration.md (`npm run docs:settings`). */
export const SETTINGS_SCHEMAS = { settings: schema, secrets } as const;

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
