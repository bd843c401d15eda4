import type { Platform, PublicHost, Workload } from "../model/index.js";
import { portByName } from "../model/index.js";
import type { ConfigFileContext } from "./context.js";
import { httpUrl, mountPathOf } from "./context.js";
import { toYaml } from "./yaml.js";

/** Hosts that only operators use: they sit behind basic auth at the edge. */
export const ADMIN_HOSTS: PublicHost[] = ["traefik", "prometheus", "alertmanager"];
export const DASHBOARD_USER = "admin";
/** Traefik's ACME resolver; Kubernetes Ingress objects name it in an annotation. */
export const CERT_RESOLVER = "letsencrypt";

function edgeWorkload(platform: Platform): Workload {
  const edge = platform.workloads.find((w) => w.tier === "edge");
  if (!edge) throw new Error("the platform has no edge workload");
  return edge;
}

/** Traefik's static configuration: entry points, providers, TLS resolvers, metrics, ping. */
export function traefikStaticConfig(ctx: ConfigFileContext): Record<string, unknown> {
  const edge = edgeWorkload(ctx.platform);
  const acme = ctx.edge.tls.mode === "acme";
  return {
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    log: { level: "INFO", format: "json" },
    // RequestPath holds the query too (a search, a token a client put in a URL), and the pinned
    // Traefik (v3.3) cannot strip the query alone: the field goes. RouterName and ServiceName still
    // say where a request went; the services' own logs keep its path without the query.
    accessLog: {
      format: "json",
      fields: { names: { RequestPath: "drop" }, headers: { defaultMode: "drop" } },
    },
    api: { dashboard: true },
    ping: { entryPoint: "admin" },
    metrics: { prometheus: { entryPoint: "admin", addRoutersLabels: true, addServicesLabels: true } },
    entryPoints: {
      web: {
        address: `:${portByName(edge, "web")}`,
        http: {
          // Redirect to the port HTTPS is published on, which differs from the container's.
          redirections: { entryPoint: { to: `:${ctx.edge.httpsPort}`, scheme: "https", permanent: true } },
        },
      },
      websecure: {
        address: `:${portByName(edge, "websecure")}`,
        http: {
          middlewares: ["security-headers@file", "compress@file"],
          tls: acme ? { certResolver: CERT_RESOLVER } : {},
        },
      },
      admin: { address: `:${portByName(edge, "admin")}` },
    },
    providers: {
      file: { directory: dirname(mountPathOf(ctx.platform, "traefik-dynamic")), watch: true },
      ...(ctx.edge.kubernetes
        ? {
            kubernetesIngress: {
              ingressClass: ctx.edge.kubernetes.ingressClass,
              namespaces: [ctx.edge.kubernetes.namespace],
              // Traefik writes its public address into each Ingress's status.
              ingressEndpoint: { publishedService: ctx.edge.kubernetes.publishedService },
            },
          }
        : {}),
    },
    ...(acme
      ? {
          certificatesResolvers: {
            [CERT_RESOLVER]: {
              acme: {
                email: ctx.edge.tls.acmeEmail,
                storage: `${edge.volumes.find((v) => v.name === "traefik-acme")?.mountPath ?? "/acme"}/acme.json`,
                ...(ctx.edge.tls.acmeCaServer ? { caServer: ctx.edge.tls.acmeCaServer } : {}),
                httpChallenge: { entryPoint: "web" },
              },
            },
          },
        }
      : {}),
  };
}

export interface TraefikRouter {
  rule: string;
  entryPoints: string[];
  service: string;
  middlewares?: string[];
  tls?: Record<string, unknown>;
  priority?: number;
}

export type TraefikService =
  | { loadBalancer: { servers: { url: string }[]; passHostHeader: boolean } }
  | {
      weighted: {
        services: { name: string; weight: number }[];
        sticky: { cookie: { name: string; secure: boolean; httpOnly: boolean; sameSite: string } };
      };
    };

/** The cookie that keeps a browser on the version it first got while a canary runs. */
export const CANARY_COOKIE = "shopstream_release";
/**
 * On Kubernetes, the canary's routers live in the file provider beside the Ingress routers of the
 * same rule, and must win over them (Traefik's default priority is the rule's length).
 */
export const CANARY_ROUTER_PRIORITY = 10_000;

/**
 * The services behind one route of a workload that has a canary: one load balancer per version
 * and, while both take traffic, a weighted service over the two (Traefik's weighted round robin),
 * sticky by cookie so that a browser keeps the version whose page it loaded. Returns the service
 * the route's router points at.
 */
function releaseServices(
  ctx: ConfigFileContext,
  stable: Workload,
  canary: Workload,
  port: string,
  services: Record<string, TraefikService>,
): string {
  const stableName = `${stable.name}-${port}`;
  const canaryName = `${canary.name}-${port}`;
  for (const [name, w] of [
    [stableName, stable],
    [canaryName, canary],
  ] as const) {
    services[name] = {
      loadBalancer: { servers: [{ url: httpUrl(ctx, w, portByName(w, port)) }], passHostHeader: true },
    };
  }
  const weight = canary.canaryOf?.weight ?? 0;
  if (weight <= 0) return stableName;
  if (weight >= 100) return canaryName;
  const weighted = `${stable.name}-${port}-release`;
  services[weighted] = {
    weighted: {
      services: [
        { name: stableName, weight: 100 - weight },
        { name: canaryName, weight },
      ],
      sticky: {
        cookie: {
          name: CANARY_COOKIE,
          secure: ctx.platform.settings.publicScheme === "https",
          httpOnly: true,
          sameSite: "lax",
        },
      },
    },
  };
  return weighted;
}

/**
 * Traefik's dynamic configuration (file provider), generated from the model's routes: one router
 * per route, one load-balanced service per routed workload pointing at the port the route names.
 * The edge's own route is its dashboard (`api@internal`).
 */
export function traefikDynamicConfig(ctx: ConfigFileContext): {
  http: {
    routers: Record<string, TraefikRouter>;
    services: Record<string, TraefikService>;
    middlewares: Record<string, unknown>;
  };
  tls: Record<string, unknown>;
} {
  const { platform } = ctx;
  const acme = ctx.edge.tls.mode === "acme";
  const routers: Record<string, TraefikRouter> = {};
  const services: Record<string, TraefikService> = {};
  for (const w of platform.workloads) {
    const canary = platform.workloads.find((c) => c.canaryOf?.workload === w.name);
    // On Kubernetes, Ingress objects carry the routes to workloads; only the dashboard stays here,
    // and the routes of a workload with a canary (an Ingress cannot weigh two Services).
    if (ctx.edge.kubernetes && w.tier !== "edge" && !canary) continue;
    w.routes.forEach((route, i) => {
      const host = platform.settings.hosts[route.host];
      const rule =
        route.pathPrefix === "/"
          ? `Host(\`${host}\`)`
          : `Host(\`${host}\`) && PathPrefix(\`${route.pathPrefix}\`)`;
      const routerName = w.routes.length > 1 ? `${w.name}-${i}` : w.name;
      let service: string;
      if (w.tier === "edge") {
        service = "api@internal";
      } else if (canary) {
        service = releaseServices(ctx, w, canary, route.port, services);
      } else {
        service = `${w.name}-${route.port}`;
        services[service] = {
          loadBalancer: {
            servers: [{ url: httpUrl(ctx, w, portByName(w, route.port)) }],
            passHostHeader: true,
          },
        };
      }
      routers[routerName] =
        ctx.edge.kubernetes && w.tier === "edge"
          ? {
              // The dashboard host's Ingress (TLS, basic auth) reaches this entry point through
              // the edge's own Service, on the port the route names.
              rule: "PathPrefix(`/api`) || PathPrefix(`/dashboard`)",
              entryPoints: [route.port],
              service,
            }
          : {
              rule,
              entryPoints: ["websecure"],
              service,
              ...(ADMIN_HOSTS.includes(route.host) ? { middlewares: ["admin-auth"] } : {}),
              // Certificates by SNI from the TLS store, which on Kubernetes also holds the Ingress
              // objects' (cert-manager's) certificates.
              tls: acme ? { certResolver: CERT_RESOLVER } : {},
              ...(ctx.edge.kubernetes ? { priority: CANARY_ROUTER_PRIORITY } : {}),
            };
    });
  }
  return {
    http: {
      routers,
      services,
      middlewares: {
        "security-headers": {
          headers: {
            ...(ctx.edge.tls.mode !== "self-signed"
              ? { stsSeconds: 31536000, stsIncludeSubdomains: true }
              : {}),
            contentTypeNosniff: true,
            frameDeny: true,
            referrerPolicy: "strict-origin-when-cross-origin",
            permissionsPolicy: "camera=(), microphone=(), geolocation=(), payment=()",
            customResponseHeaders: { "X-Powered-By": "", Server: "" },
          },
        },
        compress: { compress: {} },
        "admin-auth": {
          basicAuth: {
            usersFile: mountPathOf(platform, "traefik-users"),
            realm: "ShopStream operations",
            removeHeader: true,
          },
        },
      },
    },
    tls: { options: { default: { minVersion: "VersionTLS12", sniStrict: false } } },
  };
}

/** `user:bcrypt` lines for the basic auth in front of the admin hosts; a secret file. */
export function traefikUsersFile(bcryptHash: string): string {
  return `${DASHBOARD_USER}:${bcryptHash}\n`;
}

export function traefikStaticYaml(ctx: ConfigFileContext): string {
  return `# Generated from the ShopStream platform model (infra/src/config-files/traefik.ts).\n${toYaml(traefikStaticConfig(ctx))}`;
}

export function traefikDynamicYaml(ctx: ConfigFileContext): string {
  return `# Generated from the ShopStream platform model (infra/src/config-files/traefik.ts).\n${toYaml(traefikDynamicConfig(ctx))}`;
}

function dirname(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}
