import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config.js";
import type { ConfigFileContext } from "../config-files/index.js";
import { edgeOptions, renderConfigFiles } from "../config-files/index.js";
import { filesOf, type Platform, REPO_ROOT, type Workload } from "../model/index.js";
import { type PlatformSecrets, secretFiles, secretValue } from "../secrets.js";
import { KubernetesEdge } from "./edge.js";
import { dockerConfigJson, workloadImages } from "./images.js";
import type { NamespaceLayout } from "./naming.js";
import {
  configMapName,
  kubernetesResolver,
  LABEL,
  namespaceOf,
  nodeAgentNamespace,
  POD_SECURITY,
  SECRET_KEY,
  secretFileObjectName,
  secretObjectName,
} from "./naming.js";
import { networkPolicies } from "./network.js";
import type { FileObjects } from "./render.js";
import { controllerKind } from "./render.js";
import { apiClients, platformWiring } from "./wiring.js";
import { KubernetesWorkload } from "./workload.js";

export interface KubernetesPlatformArgs {
  platform: Platform;
  config: StackConfig;
  secrets: PlatformSecrets;
  /** Password for `registry.server`: pushes the images, and lets the nodes pull them. */
  registryPassword?: pulumi.Input<string>;
  /** Repository root holding the Dockerfiles (defaults to this checkout). */
  repoRoot?: string;
}

/**
 * Where the platform's pods run, how they reach each other and what the generated files are told:
 * pure, shared by the component and by `npm run wiring`.
 */
export function kubernetesWiring(platform: Platform, config: StackConfig) {
  const layout: NamespaceLayout = {
    namespace: config.kubernetes.namespace,
    nodeAgents: nodeAgentNamespace(config.kubernetes.namespace),
  };
  const used = new Set(platform.workloads.map((w) => namespaceOf(w, layout)));
  const edge = platform.workloads.find((w) => w.tier === "edge");
  if (!edge) throw new Error("the platform has no edge workload");
  const ingressClass = config.kubernetes.ingressClass ?? config.prefix;
  const publicServiceName = `${edge.name}-public`;
  const resolver = kubernetesResolver(layout);
  const environment = platform.settings.environment;
  const fileContext: ConfigFileContext = {
    platform,
    host: resolver.host,
    scrapeDiscovery: (w, port) => scrapeDiscovery(w, port, namespaceOf(w, layout), environment),
    logDiscovery: { kubernetes: { namespaces: [...used].sort() } },
    edge: {
      ...edgeOptions(config),
      kubernetes: {
        ingressClass,
        namespace: layout.namespace,
        publishedService: `${layout.namespace}/${publicServiceName}`,
      },
    },
  };
  return { layout, used, edge, ingressClass, publicServiceName, resolver, fileContext };
}

/** Name of the pull secret for the service images, in every namespace of the platform. */
export const PULL_SECRET = "registry-credentials";

/**
 * The whole platform on the Kubernetes cluster of a kubeconfig context: one provider, the
 * namespaces (Pod Security `restricted` for everything that allows it), the generated secrets and
 * config files as Secrets and ConfigMaps, every workload rendered from the model, Traefik as the
 * ingress controller with the model's routes as Ingress objects, the API access of the workloads
 * that discover pods, and NetworkPolicies that allow exactly the model's flows.
 */
export class KubernetesPlatform extends pulumi.ComponentResource {
  /** Image reference of every workload (pushed digest, or pinned third-party reference). */
  readonly images: Record<string, pulumi.Output<string>>;
  readonly namespace: string;
  /** Public IP or host name of the edge's load balancer; point the DNS names at it. */
  readonly edgeAddress: pulumi.Output<string | undefined>;

  constructor(name: string, args: KubernetesPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shopstream:k8s:Platform", name, {}, opts);
    const { platform, config } = args;
    const environment = platform.settings.environment;
    const { layout, used, edge, ingressClass, publicServiceName, resolver, fileContext } = kubernetesWiring(
      platform,
      config,
    );

    const provider = new k8s.Provider(
      `${name}-cluster`,
      {
        ...(config.kubernetes.context ? { context: config.kubernetes.context } : {}),
        enableServerSideApply: true,
      },
      { parent: this },
    );
    const child = { parent: this, provider };
    const stackLabels = { [LABEL.partOf]: "shopstream", [LABEL.instance]: environment };

    // Namespaces: everything that can runs under `restricted`; node agents get one of their own.
    const namespaces = new Map<string, k8s.core.v1.Namespace>();
    namespaces.set(
      layout.namespace,
      new k8s.core.v1.Namespace(
        `${name}-namespace`,
        {
          metadata: {
            name: layout.namespace,
            labels: {
              ...stackLabels,
              [POD_SECURITY.enforce]: "restricted",
              [POD_SECURITY.enforceVersion]: "latest",
              [POD_SECURITY.audit]: "restricted",
              [POD_SECURITY.warn]: "restricted",
            },
          },
        },
        // Deleting the namespace would delete the volume claims with it.
        { ...child, protect: config.protect },
      ),
    );
    if (used.has(layout.nodeAgents)) {
      namespaces.set(
        layout.nodeAgents,
        new k8s.core.v1.Namespace(
          `${name}-node-agents`,
          {
            metadata: {
              name: layout.nodeAgents,
              labels: {
                ...stackLabels,
                [POD_SECURITY.enforce]: "privileged",
                [POD_SECURITY.enforceVersion]: "latest",
                [POD_SECURITY.audit]: "restricted",
              },
              annotations: {
                [POD_SECURITY.reason]:
                  "Promtail reads every pod's log files from the node (a read-only hostPath of /var/log/pods, as root), which the restricted and baseline profiles forbid. Its container still drops all capabilities, cannot escalate privileges and has a read-only root filesystem.",
              },
            },
          },
          child,
        ),
      );
    }
    const namespaceName = (ns: string) => {
      const found = namespaces.get(ns);
      if (!found) throw new Error(`no namespace ${ns}`);
      return found.metadata.name;
    };
    const scoped = (ns: string, object: string) =>
      ns === layout.namespace
        ? `${name}-${object}`
        : `${name}-${ns.slice(layout.namespace.length + 1)}-${object}`;

    // Generated files, from the same generators as every other target.
    const configFiles = renderConfigFiles(fileContext);
    const wiring = platformWiring(platform, fileContext, resolver);
    const s = args.secrets;
    const derivedSecretFiles = secretFiles(platform, s);

    // Secrets and ConfigMaps, in the namespace of each workload that mounts them.
    const objects = new Map<string, FileObjects>();
    for (const w of platform.workloads) {
      const ns = namespaceOf(w, layout);
      const held = objects.get(ns) ?? { secrets: {}, secretFiles: {}, configMaps: {} };
      objects.set(ns, held);
      const metadata = (objectName: string) => ({
        name: objectName,
        namespace: namespaceName(ns),
        labels: stackLabels,
      });
      // A Secret keeps its name, so a changed one must go before its replacement comes.
      const secretOpts = { ...child, deleteBeforeReplace: true };
      for (const f of filesOf(w)) {
        const src = f.source;
        if (src.kind === "secret" && !(src.secret in held.secrets)) {
          held.secrets[src.secret] = new k8s.core.v1.Secret(
            scoped(ns, src.secret),
            {
              metadata: metadata(secretObjectName(src.secret)),
              type: "Opaque",
              stringData: { [SECRET_KEY]: secretValue(s, src.secret) },
            },
            secretOpts,
          ).metadata.name;
        } else if (src.kind === "secret-file" && !(src.name in held.secretFiles)) {
          const file = src.name;
          held.secretFiles[file] = new k8s.core.v1.Secret(
            scoped(ns, file),
            {
              metadata: metadata(secretFileObjectName(file)),
              type: "Opaque",
              stringData: {
                [file]: pulumi.secret(
                  derivedSecretFiles.apply((all) => {
                    const content = all[file];
                    if (content === undefined) throw new Error(`no secret file ${file}`);
                    return content;
                  }),
                ),
              },
            },
            secretOpts,
          ).metadata.name;
        } else if (src.kind === "config" && !(src.name in held.configMaps)) {
          const content = configFiles[src.name];
          if (content === undefined) throw new Error(`no config file ${src.name}`);
          held.configMaps[src.name] = new k8s.core.v1.ConfigMap(
            scoped(ns, src.name),
            { metadata: metadata(configMapName(src.name, content)), data: { [src.name]: content } },
            child,
          ).metadata.name;
        }
      }
    }

    // Nodes pull the service images with these credentials when the registry needs them.
    const pullSecrets = new Map<string, pulumi.Output<string>>();
    if (config.registry.server && config.registry.username && args.registryPassword) {
      const content = dockerConfigJson(
        config.registry.server,
        config.registry.username,
        args.registryPassword,
      );
      for (const ns of used) {
        pullSecrets.set(
          ns,
          new k8s.core.v1.Secret(
            scoped(ns, PULL_SECRET),
            {
              metadata: { name: PULL_SECRET, namespace: namespaceName(ns), labels: stackLabels },
              type: "kubernetes.io/dockerconfigjson",
              stringData: { ".dockerconfigjson": content },
            },
            child,
          ).metadata.name,
        );
      }
    }

    const builder = new docker.Provider(
      `${name}-builder`,
      config.docker.host ? { host: config.docker.host } : {},
      { parent: this },
    );
    const images = workloadImages(name, {
      platform,
      config,
      ...(args.registryPassword ? { registryPassword: args.registryPassword } : {}),
      repoRoot: args.repoRoot ?? REPO_ROOT,
      builder,
      parent: this,
    });

    // Pod discovery (Prometheus, Promtail): read pods in the platform's namespaces, nothing else.
    if (wiring.podDiscovery.length > 0) {
      for (const ns of used) {
        const metadata = { name: "pod-discovery", namespace: namespaceName(ns), labels: stackLabels };
        const role = new k8s.rbac.v1.Role(
          scoped(ns, "pod-discovery"),
          { metadata, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }] },
          child,
        );
        new k8s.rbac.v1.RoleBinding(
          scoped(ns, "pod-discovery"),
          {
            metadata,
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
            subjects: wiring.podDiscovery.map((n) => {
              const w = platform.workloads.find((x) => x.name === n)!;
              return { kind: "ServiceAccount", name: w.name, namespace: namespaceOf(w, layout) };
            }),
          },
          child,
        );
      }
    }

    for (const policy of networkPolicies({
      platform,
      wiring,
      layout,
      acmeSolver: config.tls.mode === "cert-manager",
      ...(config.kubernetes.dnsCidrs ? { dnsCidrs: config.kubernetes.dnsCidrs } : {}),
      ...(config.kubernetes.apiServerCidrs ? { apiServerCidrs: config.kubernetes.apiServerCidrs } : {}),
    })) {
      new k8s.networking.v1.NetworkPolicy(
        scoped(policy.namespace, `netpol-${policy.name}`),
        {
          metadata: { name: policy.name, namespace: namespaceName(policy.namespace), labels: stackLabels },
          spec: policy.spec,
        },
        child,
      );
    }

    const clients = apiClients(wiring);
    const acme = config.tls.mode === "acme";
    for (const w of platform.workloads) {
      const ns = namespaceOf(w, layout);
      // Only the edge's ACME account and certificates must outlive its pod; other volumes of a
      // non-stateful workload are scratch.
      const claims: Record<string, string | pulumi.Output<string>> = {};
      if (w === edge && acme && controllerKind(w) === "Deployment") {
        for (const v of w.volumes) {
          claims[v.name] = new k8s.core.v1.PersistentVolumeClaim(
            scoped(ns, v.name),
            {
              metadata: { name: v.name, namespace: namespaceName(ns), labels: stackLabels },
              spec: {
                accessModes: ["ReadWriteOnce"],
                ...(config.kubernetes.storageClass
                  ? { storageClassName: config.kubernetes.storageClass }
                  : {}),
                resources: { requests: { storage: `${v.sizeGi}Gi` } },
              },
            },
            { ...child, protect: config.protect },
          ).metadata.name;
        }
      }
      const image = images[w.name];
      if (!image) throw new Error(`no image for ${w.name}`);
      const pull = pullSecrets.get(ns);
      new KubernetesWorkload(
        w.name,
        {
          workload: w,
          namespace: namespaceName(ns),
          pod: {
            platform,
            resolver,
            image,
            files: objects.get(ns) ?? { secrets: {}, secretFiles: {}, configMaps: {} },
            apiClient: clients.includes(w.name),
            claims,
          },
          ...(config.kubernetes.storageClass ? { storageClass: config.kubernetes.storageClass } : {}),
          imagePullSecrets: pull ? [pull] : [],
          protect: config.protect,
          recreate: Object.keys(claims).length > 0,
        },
        { parent: this, providers: [provider] },
      );
    }

    const edgeComponent = new KubernetesEdge(
      `${name}-edge`,
      {
        platform,
        edge,
        namespace: namespaceName(namespaceOf(edge, layout)),
        config,
        ingressClass,
        publicServiceName,
      },
      { parent: this, providers: [provider] },
    );

    this.images = images;
    this.namespace = layout.namespace;
    this.edgeAddress = edgeComponent.address;
    this.registerOutputs({ images, namespace: this.namespace, edgeAddress: this.edgeAddress });
  }
}

/**
 * Prometheus finds a workload's pods by their labels, in the workload's namespace, and scrapes
 * the port its scrape target names; each series carries its pod and node.
 */
export function scrapeDiscovery(
  w: Workload,
  port: number,
  namespace: string,
  environment: string,
): Record<string, unknown> {
  return {
    kubernetes_sd_configs: [
      {
        role: "pod",
        namespaces: { names: [namespace] },
        selectors: [{ role: "pod", label: `${LABEL.name}=${w.name},${LABEL.instance}=${environment}` }],
      },
    ],
    relabel_configs: [
      { source_labels: ["__meta_kubernetes_pod_container_port_number"], regex: String(port), action: "keep" },
      { source_labels: ["__meta_kubernetes_pod_phase"], regex: "Running", action: "keep" },
      { source_labels: ["__meta_kubernetes_pod_name"], target_label: "instance" },
      { source_labels: ["__meta_kubernetes_pod_node_name"], target_label: "node" },
    ],
  };
}
