import type { Platform, Workload } from "../model/index.js";

/** What a target tells the generators: how names resolve and how it runs TLS at the edge. */
export interface ConfigFileContext {
  platform: Platform;
  /** Name other workloads use to reach a workload (network alias, Kubernetes Service). */
  host(workload: Workload): string;
  /**
   * Prometheus service discovery for a workload's instances: static targets on one host,
   * DNS `tasks.<service>` in Swarm (every replica), Kubernetes discovery in a cluster.
   */
  scrapeDiscovery(workload: Workload, port: number): Record<string, unknown>;
  /**
   * How Promtail finds the logs it ships: the Docker engine's `json-file` logs on each host, or
   * the pods of these Kubernetes namespaces (log files on each node).
   */
  logDiscovery: "docker" | { kubernetes: { namespaces: string[] } };
  edge: EdgeOptions;
}

export interface EdgeOptions {
  /** `cert-manager` (Kubernetes): certificates arrive as Secrets named by the Ingress objects. */
  tls: { mode: "self-signed" | "acme" | "cert-manager"; acmeEmail?: string; acmeCaServer?: string };
  /** Port HTTPS is published on, which the HTTP → HTTPS redirect must name. */
  httpsPort: number;
  /**
   * On Kubernetes, routes are Ingress objects of this class that Traefik's Kubernetes Ingress
   * provider reads; the file provider keeps only the middlewares and the dashboard.
   */
  kubernetes?: { ingressClass: string; namespace: string; publishedService: string };
}

/** The edge's options as a stack configures them (every target but Kubernetes' ingress part). */
export function edgeOptions(config: {
  tls: EdgeOptions["tls"];
  httpsPort: number;
}): Omit<EdgeOptions, "kubernetes"> {
  const { mode, acmeEmail, acmeCaServer } = config.tls;
  return {
    tls: { mode, ...(acmeEmail ? { acmeEmail } : {}), ...(acmeCaServer ? { acmeCaServer } : {}) },
    httpsPort: config.httpsPort,
  };
}

/** Labels every container of the platform carries; log discovery filters and groups by them. */
export const LABELS = {
  stack: "com.shopstream.stack",
  workload: "com.shopstream.workload",
  tier: "com.shopstream.tier",
  stateful: "com.shopstream.stateful",
  role: "com.shopstream.role",
  /** Both sides of a canary release. */
  version: "com.shopstream.version",
} as const;

export function workload(platform: Platform, name: string): Workload | undefined {
  return platform.workloads.find((w) => w.name === name);
}

export function mountPathOf(platform: Platform, file: string): string {
  for (const w of platform.workloads) {
    const f = w.configFiles.find((c) => c.name === file);
    if (f) return f.mountPath;
  }
  throw new Error(`no workload mounts the config file ${file}`);
}

export function httpUrl(ctx: ConfigFileContext, w: Workload, port: number, path = ""): string {
  return `http://${ctx.host(w)}:${port}${path}`;
}
