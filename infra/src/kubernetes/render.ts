/**
 * Pure functions from a model workload to Kubernetes object specs: pod security, probes,
 * resources, files, controllers, disruption budgets and autoscalers. No Pulumi resources here;
 * the components of this folder only assemble what these functions return.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { FileSource, Platform, TargetResolver, Workload } from "../model/index.js";
import { fileDirectories, filesOf, renderEnv, userIds } from "../model/index.js";
import { SECRET_KEY, selectorLabels, workloadLabels } from "./naming.js";

/**
 * Names of the objects that hold a namespace's files (Outputs of those objects, so a pod is
 * created after what it mounts): Secrets by model secret and by secret file, ConfigMaps by file.
 */
export interface FileObjects {
  secrets: Record<string, pulumi.Input<string>>;
  secretFiles: Record<string, pulumi.Input<string>>;
  configMaps: Record<string, pulumi.Input<string>>;
}

type PodSpec = k8s.types.input.core.v1.PodSpec;
type PodTemplateSpec = k8s.types.input.core.v1.PodTemplateSpec;
type PodSecurityContext = k8s.types.input.core.v1.PodSecurityContext;
type SecurityContext = k8s.types.input.core.v1.SecurityContext;
type Container = k8s.types.input.core.v1.Container;
type EnvVar = k8s.types.input.core.v1.EnvVar;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;
type VolumeProjection = k8s.types.input.core.v1.VolumeProjection;
type Probe = k8s.types.input.core.v1.Probe;
type ResourceRequirements = k8s.types.input.core.v1.ResourceRequirements;
type ServiceSpec = k8s.types.input.core.v1.ServiceSpec;
type TopologySpreadConstraint = k8s.types.input.core.v1.TopologySpreadConstraint;

/**
 * Seconds a terminating pod keeps serving before it receives SIGTERM: endpoints and the edge
 * learn it is going away meanwhile, so no new request reaches a process that stopped accepting.
 */
export const PRE_STOP_SECONDS = 5;
/** Size of each memory-backed scratch directory (the model's tmpfs paths). */
const SCRATCH_SIZE = "64Mi";
/** Where the node keeps every pod's log files (CRI layout). */
export const NODE_POD_LOGS = "/var/log/pods";

export type ControllerKind = "Deployment" | "StatefulSet" | "DaemonSet";

/** Stateful parts keep their claims; the log collector runs once per node; the rest is replicated. */
export function controllerKind(w: Workload): ControllerKind {
  if (w.readsContainerLogs) return "DaemonSet";
  return w.stateful ? "StatefulSet" : "Deployment";
}

export interface PodOptions {
  platform: Platform;
  resolver: TargetResolver;
  image: pulumi.Input<string>;
  /** The objects holding the workload's files, in its namespace. */
  files: FileObjects;
  /** The pod reads the Kubernetes API, so it gets its ServiceAccount's token. */
  apiClient: boolean;
  /**
   * Volumes of a non-stateful workload kept in a standalone claim (by volume name); any other
   * such volume is scratch space that lives as long as the pod.
   */
  claims?: Record<string, pulumi.Input<string>>;
}

/** The restricted Pod Security Standard at pod level; only a root workload (the log collector) differs. */
export function podSecurityContext(w: Workload): PodSecurityContext {
  const ids = userIds(w);
  const uid = Number(ids.uid);
  const gid = Number(ids.gid);
  if (uid === 0) {
    return { runAsNonRoot: false, runAsUser: 0, runAsGroup: gid, seccompProfile: { type: "RuntimeDefault" } };
  }
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    // Volumes (claims, secret files) belong to this group, so a fresh claim is writable by the
    // workload and its secret files readable by it alone. A workload in group 0 gets its uid.
    fsGroup: gid !== 0 ? gid : uid,
    fsGroupChangePolicy: "OnRootMismatch",
    seccompProfile: { type: "RuntimeDefault" },
  };
}

export function containerSecurityContext(w: Workload): SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    readOnlyRootFilesystem: w.readOnlyRootFilesystem,
  };
}

/**
 * Probes from the model's health check: liveness on the health path, readiness on the readiness
 * path (dependencies answer) when the workload has one, and a startup probe that gives the start
 * period (plus a minute for a cold volume) before liveness counts.
 */
export function probes(w: Workload): Pick<Container, "livenessProbe" | "readinessProbe" | "startupProbe"> {
  const h = w.health;
  if (!h) return {};
  const port = h.port ?? w.ports[0]?.name;
  const action = (path: string | undefined): Probe => {
    if (h.kind === "exec") {
      if (!h.command?.length) throw new Error(`${w.name}: exec health check without a command`);
      return { exec: { command: h.command } };
    }
    if (!port) throw new Error(`${w.name}: an HTTP health check needs a port`);
    return { httpGet: { path: path ?? "/", port } };
  };
  const timing = {
    periodSeconds: h.intervalSeconds,
    timeoutSeconds: h.timeoutSeconds,
    failureThreshold: h.retries,
  };
  const startupPeriod = 5;
  return {
    startupProbe: {
      ...action(h.path),
      periodSeconds: startupPeriod,
      timeoutSeconds: h.timeoutSeconds,
      failureThreshold: Math.ceil((h.startPeriodSeconds + 60) / startupPeriod),
    },
    livenessProbe: { ...action(h.path), ...timing },
    readinessProbe: w.readinessTcpPort
      ? // A TCP connect costs nothing, so readiness follows the workload closely.
        { tcpSocket: { port: w.readinessTcpPort }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 }
      : { ...action(w.readinessPath ?? h.path), ...timing },
  };
}

/** Requests from the model (already scaled by `resourceScale`); the CPU limit is twice the request. */
export function resources(w: Workload): ResourceRequirements {
  const { cpuMillis, memoryMiB } = w.resources;
  return {
    requests: { cpu: `${cpuMillis}m`, memory: `${memoryMiB}Mi` },
    limits: { cpu: `${cpuMillis * 2}m`, memory: `${memoryMiB}Mi` },
  };
}

const slug = (path: string) =>
  path
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 50)
    .replace(/-+$/, "");

/**
 * Every file the workload reads (its secrets at /run/secrets/<name>, its generated config files)
 * as one read-only projected volume per directory, combining Secrets and ConfigMaps. Secret
 * files are readable by the pod's group only.
 */
export function fileVolumes(w: Workload, objects: FileObjects): { volumes: Volume[]; mounts: VolumeMount[] } {
  const named = (kind: keyof FileObjects, key: string) => {
    const name = objects[kind][key];
    if (name === undefined) throw new Error(`${w.name}: no ${kind} object for ${key}`);
    return name;
  };
  const project = (source: FileSource, path: string): VolumeProjection => {
    switch (source.kind) {
      case "secret":
        return {
          secret: { name: named("secrets", source.secret), items: [{ key: SECRET_KEY, path, mode: 0o440 }] },
        };
      case "secret-file":
        return {
          secret: {
            name: named("secretFiles", source.name),
            items: [{ key: source.name, path, mode: 0o440 }],
          },
        };
      case "config":
        return {
          configMap: {
            name: named("configMaps", source.name),
            items: [{ key: source.name, path, mode: 0o444 }],
          },
        };
    }
  };
  const all = filesOf(w);
  // A file beside the image's own files in its directory is mounted alone (`subPath`): a
  // volume on the whole directory would hide the image's files.
  const alone = all.filter((f) => f.besideImageFiles);
  const files = all.filter((f) => !f.besideImageFiles);
  const volumes: Volume[] = [];
  const mounts: VolumeMount[] = [];
  for (const f of alone) {
    const name = `file-${slug(f.path)}`;
    const file = f.path.slice(f.path.lastIndexOf("/") + 1);
    volumes.push({ name, projected: { sources: [project(f.source, file)], defaultMode: 0o440 } });
    mounts.push({ name, mountPath: f.path, subPath: file, readOnly: true });
  }
  for (const dir of fileDirectories(files)) {
    const name = `files-${slug(dir)}`;
    const sources = files
      .filter((f) => f.path.startsWith(`${dir}/`))
      .map((f) => project(f.source, f.path.slice(dir.length + 1)));
    volumes.push({ name, projected: { sources, defaultMode: 0o440 } });
    mounts.push({ name, mountPath: dir, readOnly: true });
  }
  return { volumes, mounts };
}

/** The model's tmpfs paths as memory-backed scratch directories (the root filesystem is read-only). */
export function scratchVolumes(w: Workload): { volumes: Volume[]; mounts: VolumeMount[] } {
  const volumes = w.tmpfs.map(
    (_, i): Volume => ({
      name: `scratch-${i}`,
      emptyDir: { medium: "Memory", sizeLimit: SCRATCH_SIZE },
    }),
  );
  const mounts = w.tmpfs.map((mountPath, i): VolumeMount => ({ name: `scratch-${i}`, mountPath }));
  return { volumes, mounts };
}

/** The workload's data volumes: claim templates for a StatefulSet, standalone claims or scratch otherwise. */
export function dataVolumes(
  w: Workload,
  claims: Record<string, pulumi.Input<string>> = {},
  environment = "shopstream",
) {
  const mounts = w.volumes.map((v): VolumeMount => ({ name: v.name, mountPath: v.mountPath }));
  const kind = controllerKind(w);
  if (kind === "StatefulSet") return { volumes: [] as Volume[], mounts };
  if (kind === "DaemonSet") {
    // One per node, outliving the pod (the log collector's read positions).
    const volumes = w.volumes.map(
      (v): Volume => ({
        name: v.name,
        hostPath: { path: `/var/lib/shopstream-${environment}/${v.name}`, type: "DirectoryOrCreate" },
      }),
    );
    return { volumes, mounts };
  }
  const volumes = w.volumes.map((v): Volume => {
    const claimName = claims[v.name];
    return claimName
      ? { name: v.name, persistentVolumeClaim: { claimName } }
      : { name: v.name, emptyDir: {} };
  });
  return { volumes, mounts };
}

export function podSpec(w: Workload, o: PodOptions): PodSpec {
  const kind = controllerKind(w);
  const files = fileVolumes(w, o.files);
  const scratch = scratchVolumes(w);
  const data = dataVolumes(w, o.claims, o.platform.settings.environment);
  const hostLogs = w.readsContainerLogs
    ? {
        volumes: [{ name: "pod-logs", hostPath: { path: NODE_POD_LOGS, type: "Directory" } }] as Volume[],
        mounts: [{ name: "pod-logs", mountPath: NODE_POD_LOGS, readOnly: true }] as VolumeMount[],
      }
    : { volumes: [], mounts: [] };
  // Only replicated workloads behind a Service need the grace before SIGTERM.
  const drains = kind === "Deployment";
  const env: EnvVar[] = Object.entries(renderEnv(o.platform, w, o.resolver)).map(([name, value]) => ({
    name,
    value,
  }));
  // The log collector tails its own node's files only: it knows its node by this name.
  if (w.readsContainerLogs)
    env.push({ name: "HOSTNAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } });

  const container: Container = {
    name: w.name,
    image: o.image,
    imagePullPolicy: "IfNotPresent",
    ...(w.args ? { args: w.args } : {}),
    env,
    ports: w.ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: "TCP" })),
    resources: resources(w),
    securityContext: containerSecurityContext(w),
    ...probes(w),
    ...(drains ? { lifecycle: { preStop: { exec: { command: ["sleep", String(PRE_STOP_SECONDS)] } } } } : {}),
    volumeMounts: [...data.mounts, ...files.mounts, ...scratch.mounts, ...hostLogs.mounts],
  };
  return {
    serviceAccountName: w.name,
    automountServiceAccountToken: o.apiClient,
    enableServiceLinks: false,
    securityContext: podSecurityContext(w),
    terminationGracePeriodSeconds: w.stopGracePeriodSeconds + (drains ? PRE_STOP_SECONDS : 0),
    ...(kind === "Deployment"
      ? { topologySpreadConstraints: topologySpread(w, o.platform.settings.environment) }
      : {}),
    containers: [container],
    volumes: [...data.volumes, ...files.volumes, ...scratch.volumes, ...hostLogs.volumes],
  };
}

/**
 * Replicas spread across nodes, then zones. `ScheduleAnyway`: with a node down, a replica still
 * starts on a node that already has one, rather than staying pending until the node is back.
 */
export function topologySpread(w: Workload, environment: string): TopologySpreadConstraint[] {
  const labelSelector = { matchLabels: selectorLabels(w, environment) };
  return ["kubernetes.io/hostname", "topology.kubernetes.io/zone"].map((topologyKey) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: "ScheduleAnyway",
    labelSelector,
    // Count the pods of the current rollout only, so a rolling update spreads too.
    matchLabelKeys: ["pod-template-hash"],
  }));
}

export function podTemplate(w: Workload, o: PodOptions): PodTemplateSpec {
  return { metadata: { labels: workloadLabels(w, o.platform.settings.environment) }, spec: podSpec(w, o) };
}

/**
 * A replicated workload. Updates start a new pod before an old one stops (no replica is ever
 * missing); an autoscaled one leaves the replica count to its HorizontalPodAutoscaler.
 * `recreate`: a single pod holding a claim that only one node can mount.
 */
export function deploymentSpec(
  w: Workload,
  o: PodOptions,
  recreate = false,
): k8s.types.input.apps.v1.DeploymentSpec {
  return {
    ...(w.autoscale ? {} : { replicas: w.replicas }),
    revisionHistoryLimit: 5,
    selector: { matchLabels: selectorLabels(w, o.platform.settings.environment) },
    strategy: recreate
      ? { type: "Recreate" }
      : { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
    template: podTemplate(w, o),
  };
}

/** A stateful part: one claim per volume, kept when the set is deleted or scaled down. */
export function statefulSetSpec(
  w: Workload,
  o: PodOptions & { serviceName: pulumi.Input<string>; storageClass?: string },
): k8s.types.input.apps.v1.StatefulSetSpec {
  const env = o.platform.settings.environment;
  return {
    serviceName: o.serviceName,
    replicas: w.replicas,
    revisionHistoryLimit: 5,
    selector: { matchLabels: selectorLabels(w, env) },
    podManagementPolicy: "OrderedReady",
    updateStrategy: { type: "RollingUpdate" },
    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    template: podTemplate(w, o),
    volumeClaimTemplates: w.volumes.map((v) => ({
      metadata: { name: v.name, labels: workloadLabels(w, env) },
      spec: {
        accessModes: ["ReadWriteOnce"],
        ...(o.storageClass ? { storageClassName: o.storageClass } : {}),
        resources: { requests: { storage: `${v.sizeGi}Gi` } },
      },
    })),
  };
}

export function daemonSetSpec(w: Workload, o: PodOptions): k8s.types.input.apps.v1.DaemonSetSpec {
  return {
    revisionHistoryLimit: 5,
    selector: { matchLabels: selectorLabels(w, o.platform.settings.environment) },
    updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
    template: podTemplate(w, o),
  };
}

/** The workload's ports behind its name; `headless` gives a StatefulSet its stable pod names. */
export function serviceSpec(w: Workload, environment: string, headless = false): ServiceSpec {
  return {
    type: "ClusterIP",
    ...(headless ? { clusterIP: "None", publishNotReadyAddresses: true } : {}),
    selector: selectorLabels(w, environment),
    ports: w.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP" })),
  };
}

/**
 * At most one replica evicted at a time (node drains, upgrades). A budget on maxUnavailable never
 * blocks a drain of a single-replica workload, and unhealthy pods may always be evicted.
 */
export function disruptionBudgetSpec(
  w: Workload,
  environment: string,
): k8s.types.input.policy.v1.PodDisruptionBudgetSpec {
  return {
    maxUnavailable: 1,
    selector: { matchLabels: selectorLabels(w, environment) },
    unhealthyPodEvictionPolicy: "AlwaysAllow",
  };
}

/** CPU-driven autoscaling between the model's bounds; scale-down is gradual. */
export function autoscalerSpec(
  w: Workload,
): k8s.types.input.autoscaling.v2.HorizontalPodAutoscalerSpec | undefined {
  const a = w.autoscale;
  if (!a) return undefined;
  return {
    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: w.name },
    minReplicas: a.min,
    maxReplicas: a.max,
    metrics: [
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: a.cpuPercent } },
      },
    ],
    behavior: {
      scaleDown: {
        stabilizationWindowSeconds: 300,
        policies: [{ type: "Pods", value: 1, periodSeconds: 60 }],
      },
    },
  };
}
