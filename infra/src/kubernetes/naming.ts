/**
 * Names, labels and namespaces of the Kubernetes target: how a model workload is found in the
 * cluster (Service DNS, pod labels), pure so every other file of the target shares them.
 */
import { createHash } from "node:crypto";
import type { SecretName, TargetResolver, Workload } from "../model/index.js";
import { containerResolver, firstPort } from "../model/index.js";

/** Recommended labels (kubernetes.io/docs/concepts/overview/working-with-objects/common-labels). */
export const LABEL = {
  name: "app.kubernetes.io/name",
  instance: "app.kubernetes.io/instance",
  partOf: "app.kubernetes.io/part-of",
  component: "app.kubernetes.io/component",
  managedBy: "app.kubernetes.io/managed-by",
  version: "app.kubernetes.io/version",
} as const;

/** Pod Security Admission labels of a namespace. */
export const POD_SECURITY = {
  enforce: "pod-security.kubernetes.io/enforce",
  enforceVersion: "pod-security.kubernetes.io/enforce-version",
  audit: "pod-security.kubernetes.io/audit",
  warn: "pod-security.kubernetes.io/warn",
  /** Why a namespace enforces less than `restricted` (read by the policy pack). */
  reason: "shopstream.io/pod-security-reason",
} as const;

/** Where the platform's pods run. */
export interface NamespaceLayout {
  /** Everything that meets the `restricted` Pod Security Standard. */
  namespace: string;
  /** Node agents that must read the node's files (Promtail): a namespace of their own. */
  nodeAgents: string;
}

export function nodeAgentNamespace(namespace: string): string {
  return `${namespace}-node-agents`;
}

/** A workload that reads the node's container logs needs host paths, which `restricted` forbids. */
export function namespaceOf(w: Workload, layout: NamespaceLayout): string {
  return w.readsContainerLogs ? layout.nodeAgents : layout.namespace;
}

/** Labels that select a workload's pods; stable for the life of the controller. */
export function selectorLabels(w: Workload, environment: string): Record<string, string> {
  return { [LABEL.name]: w.name, [LABEL.instance]: environment };
}

export function workloadLabels(w: Workload, environment: string): Record<string, string> {
  return {
    ...selectorLabels(w, environment),
    [LABEL.partOf]: "shopstream",
    [LABEL.component]: w.tier,
    [LABEL.managedBy]: "pulumi",
    // Both sides of a canary release; the log collector labels their lines with it.
    ...(w.version ? { [LABEL.version]: w.version } : {}),
  };
}

/**
 * Workloads reach each other through their Service's namespace-qualified name, which resolves
 * from any namespace of the cluster (Promtail pushes to Loki across namespaces). Secrets are
 * files under /run/secrets, as in every container target.
 */
export function kubernetesResolver(layout: NamespaceLayout): TargetResolver {
  return {
    host: (w) => `${w.name}.${namespaceOf(w, layout)}.svc`,
    port: (w) => firstPort(w),
    secretPath: containerResolver.secretPath,
    // Pod addresses change with every restart and no name lists them; the NetworkPolicies let
    // only the flows' sources connect (the edge to the gateway, the gateway to the services), so
    // trusting the pod network trusts exactly those peers. RFC 1918 and RFC 6598 (shared address
    // space, some CNIs' pod ranges) cover the usual pod CIDRs.
    trustedPeers: () => "uniquelocal,100.64.0.0/10",
  };
}

/**
 * A ConfigMap's name carries a hash of its content: a changed file is a new ConfigMap, so the
 * pods that mount it roll over to it (and back again on a rollback) instead of reading a file
 * that changed under them.
 */
export function configMapName(file: string, content: string): string {
  return `${file}-${createHash("sha256").update(content).digest("hex").slice(0, 10)}`;
}

/** The Secret holding one generated secret, under the key `value`. */
export const secretObjectName = (secret: SecretName) => secret;
export const SECRET_KEY = "value";
/** The Secret holding one generated secret file (a password hash, a users file), under its name. */
export const secretFileObjectName = (file: string) => file;
