/**
 * The ShopStream policies for Kubernetes objects, as plain functions over a resource's type, name
 * and inputs (like rules.ts): `pulumi preview --policy-pack policy` and the tests (against the
 * mocked prod graph) run the very same rules.
 */
import { isPinned, type ResourceInputs, SECRET_NAME } from "./rules";

export const K8S_TYPES = {
  namespace: "kubernetes:core/v1:Namespace",
  pod: "kubernetes:core/v1:Pod",
  deployment: "kubernetes:apps/v1:Deployment",
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  daemonSet: "kubernetes:apps/v1:DaemonSet",
  replicaSet: "kubernetes:apps/v1:ReplicaSet",
  job: "kubernetes:batch/v1:Job",
  cronJob: "kubernetes:batch/v1:CronJob",
  podDisruptionBudget: "kubernetes:policy/v1:PodDisruptionBudget",
} as const;

const ENFORCE = "pod-security.kubernetes.io/enforce";
/** Why a namespace enforces less than `restricted`; written by the program, read by people. */
const REASON = "shopstream.io/pod-security-reason";
/** The tier a pod belongs to (edge, app, data, observability). */
const COMPONENT = "app.kubernetes.io/component";

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes inputs of any kind
type Obj = Record<string, any>;

/** The pod spec a resource runs, for every kind of object that runs pods. */
export function podSpecOf(r: ResourceInputs): Obj | undefined {
  switch (r.type) {
    case K8S_TYPES.pod:
      return r.props.spec;
    case K8S_TYPES.deployment:
    case K8S_TYPES.statefulSet:
    case K8S_TYPES.daemonSet:
    case K8S_TYPES.replicaSet:
    case K8S_TYPES.job:
      return r.props.spec?.template?.spec;
    case K8S_TYPES.cronJob:
      return r.props.spec?.jobTemplate?.spec?.template?.spec;
    default:
      return undefined;
  }
}

function containersOf(spec: Obj): Obj[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
}

/** Volume types the `restricted` profile allows. */
const RESTRICTED_VOLUMES = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
]);

/** What every pod must meet, whatever its namespace enforces. */
function basePodViolations(name: string, spec: Obj): string[] {
  const out: string[] = [];
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC)
    out.push(`${name} shares the node's network, PID or IPC namespace`);
  for (const c of containersOf(spec)) {
    const sc: Obj = c.securityContext ?? {};
    const who = `${name}/${c.name}`;
    if (sc.privileged === true) out.push(`${who} is privileged`);
    if (sc.allowPrivilegeEscalation !== false)
      out.push(`${who} does not set allowPrivilegeEscalation: false`);
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes("ALL")) out.push(`${who} does not drop all capabilities`);
    const add: string[] = sc.capabilities?.add ?? [];
    for (const cap of add.filter((x) => x !== "NET_BIND_SERVICE"))
      out.push(`${who} adds the ${cap} capability`);
    for (const p of (c.ports ?? []) as Obj[])
      if (p.hostPort) out.push(`${who} binds host port ${p.hostPort}`);
  }
  return out;
}

/** The Pod Security Standard `restricted` (kubernetes.io/docs/concepts/security/pod-security-standards). */
export function restrictedPodViolations(name: string, spec: Obj): string[] {
  const out = basePodViolations(name, spec);
  const pod: Obj = spec.securityContext ?? {};
  for (const v of (spec.volumes ?? []) as Obj[]) {
    const kinds = Object.keys(v).filter((k) => k !== "name");
    for (const k of kinds.filter((x) => !RESTRICTED_VOLUMES.has(x)))
      out.push(`${name} mounts a ${k} volume (${v.name})`);
  }
  for (const c of containersOf(spec)) {
    const sc: Obj = c.securityContext ?? {};
    const who = `${name}/${c.name}`;
    if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) out.push(`${who} may run as root (runAsNonRoot)`);
    if ((sc.runAsUser ?? pod.runAsUser) === 0) out.push(`${who} runs as uid 0`);
    const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost")
      out.push(`${who} has no RuntimeDefault or Localhost seccomp profile`);
  }
  return out;
}

/**
 * Stack rule: every pod meets the Pod Security level its namespace enforces (`restricted` unless
 * the stack's Namespace says otherwise); pods in a less strict namespace still run unprivileged,
 * without privilege escalation, with every capability dropped. App pods also keep a read-only
 * root filesystem.
 */
export function podSecurity(resources: ResourceInputs[]): string[] {
  const levels = new Map<string, string>();
  for (const ns of resources.filter((r) => r.type === K8S_TYPES.namespace)) {
    levels.set(ns.props.metadata?.name, ns.props.metadata?.labels?.[ENFORCE] ?? "privileged");
  }
  return resources.flatMap((r) => {
    const spec = podSpecOf(r);
    if (!spec) return [];
    const level = levels.get(r.props.metadata?.namespace) ?? "restricted";
    const out =
      level === "restricted" ? restrictedPodViolations(r.name, spec) : basePodViolations(r.name, spec);
    // Our own services go further than the standard: nothing in their image is writable.
    if (templateLabels(r)[COMPONENT] === "app") {
      for (const c of containersOf(spec).filter((x) => x.securityContext?.readOnlyRootFilesystem !== true))
        out.push(`${r.name}/${c.name} is an app container without a read-only root filesystem`);
    }
    return out;
  });
}

function templateLabels(r: ResourceInputs): Record<string, string> {
  return (
    (r.type === K8S_TYPES.pod ? r.props.metadata?.labels : r.props.spec?.template?.metadata?.labels) ?? {}
  );
}

/** Every namespace enforces a Pod Security level; one below `restricted` says why. */
export function namespacePodSecurity(r: ResourceInputs): string[] {
  if (r.type !== K8S_TYPES.namespace) return [];
  const level = r.props.metadata?.labels?.[ENFORCE];
  if (!level) return [`namespace ${r.name} enforces no Pod Security level (${ENFORCE})`];
  if (level !== "restricted" && !r.props.metadata?.annotations?.[REASON])
    return [`namespace ${r.name} enforces ${level} without saying why (${REASON})`];
  return [];
}

/** Every container requests CPU and memory and has CPU and memory limits. */
export function requireResources(r: ResourceInputs): string[] {
  const spec = podSpecOf(r);
  if (!spec) return [];
  return containersOf(spec).flatMap((c) => {
    const missing = [
      ["requests", "cpu"],
      ["requests", "memory"],
      ["limits", "cpu"],
      ["limits", "memory"],
    ].filter(([kind, what]) => !c.resources?.[kind!]?.[what!]);
    return missing.length
      ? [
          `${r.name}/${c.name} sets no ${missing.map(([k, w]) => `${w} ${k === "requests" ? "request" : "limit"}`).join(", ")}`,
        ]
      : [];
  });
}

/** Every container image names an exact tag or digest, never `latest`. */
export function requirePinnedContainerImages(r: ResourceInputs): string[] {
  const spec = podSpecOf(r);
  if (!spec) return [];
  return containersOf(spec)
    .filter((c) => typeof c.image !== "string" || !isPinned(c.image))
    .map(
      (c) => `${r.name}/${c.name} uses ${c.image ?? "no image"}: pin an exact tag or digest (never latest)`,
    );
}

/** No secret-looking variable carries a plain value: secrets are files, named by `*_FILE`. */
export function noPlainSecretEnvValue(r: ResourceInputs): string[] {
  const spec = podSpecOf(r);
  if (!spec) return [];
  return containersOf(spec).flatMap((c) =>
    ((c.env ?? []) as Obj[])
      .filter(
        (e) => SECRET_NAME.test(e.name) && !/_FILE$/.test(e.name) && typeof e.value === "string" && e.value,
      )
      .map(
        (e) => `${r.name}/${c.name} sets ${e.name} in plain text; mount the secret and pass ${e.name}_FILE`,
      ),
  );
}

/** Replicated workloads say when they are ready and when they are stuck. */
export function requireProbes(r: ResourceInputs): string[] {
  if (r.type !== K8S_TYPES.deployment) return [];
  const spec = podSpecOf(r) ?? {};
  return ((spec.containers ?? []) as Obj[]).flatMap((c) => [
    ...(c.readinessProbe ? [] : [`${r.name}/${c.name} has no readiness probe`]),
    ...(c.livenessProbe ? [] : [`${r.name}/${c.name} has no liveness probe`]),
  ]);
}

const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Stack rule: a PodDisruptionBudget in its namespace covers every Deployment's pods. */
export function deploymentsCoveredByBudgets(resources: ResourceInputs[]): string[] {
  const budgets = resources.filter((r) => r.type === K8S_TYPES.podDisruptionBudget);
  return resources
    .filter((r) => r.type === K8S_TYPES.deployment)
    .filter((d) => {
      const labels = d.props.spec?.template?.metadata?.labels ?? {};
      return !budgets.some(
        (b) =>
          b.props.metadata?.namespace === d.props.metadata?.namespace &&
          selects(b.props.spec?.selector?.matchLabels, labels),
      );
    })
    .map((d) => `deployment ${d.name} is covered by no PodDisruptionBudget`);
}

export const KUBERNETES_RESOURCE_RULES: Record<
  string,
  { description: string; check: (r: ResourceInputs) => string[] }
> = {
  "k8s-namespace-pod-security": {
    description: "Every namespace enforces a Pod Security level; one below restricted says why.",
    check: namespacePodSecurity,
  },
  "k8s-resources": {
    description: "Every container requests CPU and memory and has CPU and memory limits.",
    check: requireResources,
  },
  "k8s-pinned-images": {
    description: "No :latest or untagged container image.",
    check: requirePinnedContainerImages,
  },
  "k8s-no-plain-secret-env": {
    description: "No *PASSWORD*, *SECRET*, *KEY* or *TOKEN* variable with a plain value; secrets are files.",
    check: noPlainSecretEnvValue,
  },
  "k8s-probes": {
    description: "Every Deployment's containers have readiness and liveness probes.",
    check: requireProbes,
  },
};

export const KUBERNETES_STACK_RULES: Record<
  string,
  { description: string; check: (resources: ResourceInputs[]) => string[] }
> = {
  "k8s-pod-security": {
    description: "Pods meet the Pod Security Standard their namespace enforces (restricted by default).",
    check: podSecurity,
  },
  "k8s-disruption-budgets": {
    description: "A PodDisruptionBudget covers every Deployment.",
    check: deploymentsCoveredByBudgets,
  },
};

/** Every violation of every Kubernetes rule across a set of resources, as `rule: message`. */
export function evaluateKubernetes(resources: ResourceInputs[]): string[] {
  const perResource = resources.flatMap((r) =>
    Object.entries(KUBERNETES_RESOURCE_RULES).flatMap(([name, rule]) =>
      rule.check(r).map((v) => `${name}: ${v}`),
    ),
  );
  const perStack = Object.entries(KUBERNETES_STACK_RULES).flatMap(([name, rule]) =>
    rule.check(resources).map((v) => `${name}: ${v}`),
  );
  return [...perResource, ...perStack];
}
