import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config.js";
import { ADMIN_HOSTS, CERT_RESOLVER } from "../config-files/index.js";
import type { Platform, PublicHost, Workload } from "../model/index.js";
import { selectorLabels, workloadLabels } from "./naming.js";
import { PUBLIC_PORTS } from "./network.js";

/** The controller name Traefik's Kubernetes Ingress provider claims IngressClasses by. */
export const TRAEFIK_CONTROLLER = "traefik.io/ingress-controller";
const TRAEFIK = "traefik.ingress.kubernetes.io";

export interface IngressObject {
  host: PublicHost;
  annotations: Record<string, string>;
  spec: k8s.types.input.networking.v1.IngressSpec;
}

export interface IngressOptions {
  ingressClass: string;
  tls: StackConfig["tls"];
  /** Ingress status only gets an address behind a load balancer; otherwise `pulumi up` must not wait for one. */
  awaitAddress: boolean;
}

/**
 * One Ingress per public host, from the model's routes: the storefront at `/` and the gateway at
 * `/api` on the shop's host, Grafana, and the operator hosts (Traefik's dashboard, Prometheus,
 * Alertmanager) behind the basic auth the edge's file provider defines. TLS per `tls.mode`: a
 * cert-manager ClusterIssuer fills each host's Secret, or Traefik's own ACME resolver, or its
 * default certificate.
 */
export function ingressObjects(platform: Platform, o: IngressOptions): IngressObject[] {
  const byHost = new Map<PublicHost, { w: Workload; path: string; port: string }[]>();
  for (const w of platform.workloads) {
    for (const r of w.routes) {
      const list = byHost.get(r.host) ?? [];
      list.push({ w, path: r.pathPrefix, port: r.port });
      byHost.set(r.host, list);
    }
  }
  return [...byHost].map(([host, routes]): IngressObject => {
    const hostname = platform.settings.hosts[host];
    const annotations: Record<string, string> = {
      [`${TRAEFIK}/router.entrypoints`]: PUBLIC_PORTS.https,
      [`${TRAEFIK}/router.tls`]: "true",
      ...(ADMIN_HOSTS.includes(host) ? { [`${TRAEFIK}/router.middlewares`]: "admin-auth@file" } : {}),
      ...(o.tls.mode === "acme" ? { [`${TRAEFIK}/router.tls.certresolver`]: CERT_RESOLVER } : {}),
      ...(o.tls.mode === "cert-manager" && o.tls.clusterIssuer
        ? { "cert-manager.io/cluster-issuer": o.tls.clusterIssuer }
        : {}),
      ...(o.awaitAddress ? {} : { "pulumi.com/skipAwait": "true" }),
    };
    return {
      host,
      annotations,
      spec: {
        ingressClassName: o.ingressClass,
        ...(o.tls.mode === "cert-manager" ? { tls: [{ hosts: [hostname], secretName: `${host}-tls` }] } : {}),
        rules: [
          {
            host: hostname,
            http: {
              paths: [...routes]
                .sort((a, b) => b.path.length - a.path.length)
                .map((r) => ({
                  path: r.path,
                  pathType: "Prefix",
                  backend: { service: { name: r.w.name, port: { name: r.port } } },
                })),
            },
          },
        ],
      },
    };
  });
}

/** What Traefik's Kubernetes Ingress provider reads, cluster-wide and in the platform's namespace. */
export const INGRESS_CONTROLLER_RULES = {
  cluster: [
    { apiGroups: ["networking.k8s.io"], resources: ["ingressclasses"], verbs: ["get", "list", "watch"] },
    // Traefik 3.1+ looks nodes up for NodePort load balancing.
    { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch"] },
  ],
  namespace: [
    { apiGroups: [""], resources: ["services", "secrets"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
    { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["networking.k8s.io"], resources: ["ingresses/status"], verbs: ["update"] },
  ],
};

export interface KubernetesEdgeArgs {
  platform: Platform;
  /** The edge workload (Traefik); its ServiceAccount is bound to the RBAC here. */
  edge: Workload;
  namespace: pulumi.Input<string>;
  config: StackConfig;
  ingressClass: string;
  /** Name of the Service the public entry points are exposed on. */
  publicServiceName: string;
}

/**
 * Traefik as the cluster's ingress controller for this platform: its IngressClass, the RBAC its
 * Kubernetes Ingress provider needs, the Service that exposes its HTTP and HTTPS entry points,
 * and the Ingress objects generated from the model's routes.
 */
export class KubernetesEdge extends pulumi.ComponentResource {
  /** Public IP or host name of the edge (empty until a load balancer assigns one). */
  readonly address: pulumi.Output<string | undefined>;

  constructor(name: string, args: KubernetesEdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shopstream:k8s:Edge", name, {}, opts);
    const { platform, edge, namespace, config } = args;
    const environment = platform.settings.environment;
    const labels = workloadLabels(edge, environment);
    const child = { parent: this };
    const subject = { kind: "ServiceAccount", name: edge.name, namespace };

    new k8s.networking.v1.IngressClass(
      `${name}-class`,
      { metadata: { name: args.ingressClass, labels }, spec: { controller: TRAEFIK_CONTROLLER } },
      child,
    );
    const clusterRole = new k8s.rbac.v1.ClusterRole(
      `${name}-ingress-controller`,
      {
        metadata: { name: `${args.ingressClass}-ingress-controller`, labels },
        rules: INGRESS_CONTROLLER_RULES.cluster,
      },
      child,
    );
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-ingress-controller`,
      {
        metadata: { name: `${args.ingressClass}-ingress-controller`, labels },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: clusterRole.metadata.name,
        },
        subjects: [subject],
      },
      child,
    );
    const role = new k8s.rbac.v1.Role(
      `${name}-ingress-controller`,
      {
        metadata: { name: `${edge.name}-ingress-controller`, namespace, labels },
        rules: INGRESS_CONTROLLER_RULES.namespace,
      },
      child,
    );
    new k8s.rbac.v1.RoleBinding(
      `${name}-ingress-controller`,
      {
        metadata: { name: `${edge.name}-ingress-controller`, namespace, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
        subjects: [subject],
      },
      child,
    );

    const loadBalancer = config.kubernetes.serviceType === "LoadBalancer";
    const publicService = new k8s.core.v1.Service(
      `${name}-public`,
      {
        metadata: { name: args.publicServiceName, namespace, labels },
        spec: {
          type: config.kubernetes.serviceType,
          // Keeps the client's address (rate limits, logs); nodes without an edge pod take no traffic.
          externalTrafficPolicy: "Local",
          selector: selectorLabels(edge, environment),
          ports: [
            {
              name: PUBLIC_PORTS.http,
              port: config.httpPort,
              targetPort: PUBLIC_PORTS.http,
              protocol: "TCP",
            },
            {
              name: PUBLIC_PORTS.https,
              port: config.httpsPort,
              targetPort: PUBLIC_PORTS.https,
              protocol: "TCP",
            },
          ],
        },
      },
      child,
    );

    for (const ingress of ingressObjects(platform, {
      ingressClass: args.ingressClass,
      tls: config.tls,
      awaitAddress: loadBalancer,
    })) {
      new k8s.networking.v1.Ingress(
        `${name}-${ingress.host}`,
        {
          metadata: { name: ingress.host, namespace, labels, annotations: ingress.annotations },
          spec: ingress.spec,
        },
        { ...child, dependsOn: [publicService] },
      );
    }

    this.address = publicService.status.apply((s) => {
      const first = s?.loadBalancer?.ingress?.[0];
      return first?.ip ?? first?.hostname;
    });
    this.registerOutputs({ address: this.address });
  }
}
