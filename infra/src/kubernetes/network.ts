/**
 * NetworkPolicies from the model's wiring: every namespace of the platform denies all traffic,
 * then each workload's pods accept exactly the flows into them and open exactly the flows out of
 * them (wiring.ts), plus DNS for everyone, the API server for the workloads that read it, and the
 * public entry points of the edge. Pure: the component in platform.ts only creates the objects.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { Platform, Workload } from "../model/index.js";
import { findWorkload, portByName } from "../model/index.js";
import type { NamespaceLayout } from "./naming.js";
import { namespaceOf, selectorLabels } from "./naming.js";
import type { Wiring } from "./wiring.js";
import { apiClients } from "./wiring.js";

type NetworkPolicySpec = k8s.types.input.networking.v1.NetworkPolicySpec;
type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;

export interface NetworkPolicyObject {
  name: string;
  namespace: string;
  spec: NetworkPolicySpec;
}

/** The ports the edge's public Service exposes: its HTTP and HTTPS entry points. */
export const PUBLIC_PORTS = { http: "web", https: "websecure" } as const;
/** cert-manager's HTTP-01 solver pods, which the edge forwards ACME challenges to. */
export const ACME_SOLVER = { label: "acme.cert-manager.io/http01-solver", port: 8089 } as const;
/** Where the API server listens: 443 behind the `kubernetes` Service, 6443 on most control planes. */
const API_SERVER_PORTS = [443, 6443];

export interface NetworkPolicyOptions {
  platform: Platform;
  wiring: Wiring;
  layout: NamespaceLayout;
  /** Certificates by cert-manager: the edge must reach its HTTP-01 solver pods. */
  acmeSolver: boolean;
  /**
   * Extra DNS resolvers outside kube-system's pods, as CIDRs: NodeLocal DNSCache answers on a
   * link-local address on each node (169.254.20.10/32), which a kube-system pod selector misses.
   */
  dnsCidrs?: string[];
  /**
   * Where the API server is, as CIDRs (default: anywhere). Some CNIs (Cilium) do not match the
   * API server by any `ipBlock`: they need their own policy (docs/verification.md).
   */
  apiServerCidrs?: string[];
}

const DEFAULT_API_SERVER_CIDRS = ["0.0.0.0/0"];

const tcp = (ports: number[]) => ports.map((port) => ({ protocol: "TCP", port }));

export function networkPolicies(o: NetworkPolicyOptions): NetworkPolicyObject[] {
  const { platform, wiring, layout } = o;
  const env = platform.settings.environment;
  const namespaces = [...new Set(platform.workloads.map((w) => namespaceOf(w, layout)))].sort();
  const peer = (from: string, to: Workload): Peer =>
    namespaceOf(to, layout) === from
      ? { podSelector: { matchLabels: selectorLabels(to, env) } }
      : {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespaceOf(to, layout) } },
          podSelector: { matchLabels: selectorLabels(to, env) },
        };

  const out: NetworkPolicyObject[] = [];
  for (const namespace of namespaces) {
    out.push(
      { name: "default-deny", namespace, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
      {
        name: "allow-dns",
        namespace,
        spec: {
          podSelector: {},
          policyTypes: ["Egress"],
          egress: [
            {
              to: [
                { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } },
                ...(o.dnsCidrs ?? []).map((cidr) => ({ ipBlock: { cidr } })),
              ],
              ports: [
                { protocol: "UDP", port: 53 },
                { protocol: "TCP", port: 53 },
              ],
            },
          ],
        },
      },
    );
  }

  for (const w of platform.workloads) {
    const namespace = namespaceOf(w, layout);
    const ingress: k8s.types.input.networking.v1.NetworkPolicyIngressRule[] = wiring.flows
      .filter((f) => f.to === w.name)
      .map((f) => ({ from: [peer(namespace, findWorkload(platform, f.from))], ports: tcp(f.ports) }));
    const egress: k8s.types.input.networking.v1.NetworkPolicyEgressRule[] = wiring.flows
      .filter((f) => f.from === w.name)
      .map((f) => ({ to: [peer(namespace, findWorkload(platform, f.to))], ports: tcp(f.ports) }));
    if (w.networks.includes("traefik-public")) {
      // The public side: anyone may connect to the HTTP and HTTPS entry points.
      ingress.push({ ports: tcp([portByName(w, PUBLIC_PORTS.http), portByName(w, PUBLIC_PORTS.https)]) });
      if (o.acmeSolver) {
        egress.push({
          to: [{ podSelector: { matchLabels: { [ACME_SOLVER.label]: "true" } } }],
          ports: tcp([ACME_SOLVER.port]),
        });
      }
    }
    if (apiClients(wiring).includes(w.name)) {
      // The API server is outside the pod network; its address differs from cluster to cluster.
      egress.push({
        to: (o.apiServerCidrs ?? DEFAULT_API_SERVER_CIDRS).map((cidr) => ({ ipBlock: { cidr } })),
        ports: tcp(API_SERVER_PORTS),
      });
    }
    out.push({
      name: w.name,
      namespace,
      spec: {
        podSelector: { matchLabels: selectorLabels(w, env) },
        policyTypes: ["Ingress", "Egress"],
        ingress,
        egress,
      },
    });
  }

  const edge = platform.workloads.find((w) => w.networks.includes("traefik-public"));
  if (o.acmeSolver && edge) {
    out.push({
      name: "acme-http01-solver",
      namespace: namespaceOf(edge, layout),
      spec: {
        podSelector: { matchLabels: { [ACME_SOLVER.label]: "true" } },
        policyTypes: ["Ingress"],
        ingress: [{ from: [peer(namespaceOf(edge, layout), edge)], ports: tcp([ACME_SOLVER.port]) }],
      },
    });
  }
  return out;
}
