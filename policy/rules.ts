/**
 * The ShopStream policies as plain functions over a resource's type, name and inputs, so that
 * `pulumi preview --policy-pack policy` (index.ts) and the tests (against the mocked graph) run
 * the very same rules. Each returns the violations it finds; none means compliant.
 */

export interface ResourceInputs {
  type: string;
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: inputs of any resource type
  props: Record<string, any>;
}

export const TYPES = {
  container: "docker:index/container:Container",
  service: "docker:index/service:Service",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  image: "docker:index/image:Image",
  volume: "docker:index/volume:Volume",
} as const;

const LABEL = {
  tier: "com.shopstream.tier",
  stateful: "com.shopstream.stateful",
  role: "com.shopstream.role",
} as const;

type Labels = { label: string; value: string }[] | undefined;

function labelsOf(r: ResourceInputs): Record<string, string> {
  const list: Labels = r.type === TYPES.service ? r.props.taskSpec?.containerSpec?.labels : r.props.labels;
  return Object.fromEntries((list ?? []).map((l) => [l.label, l.value]));
}

/** Containers and services that run a workload (not file carriers or one-shot jobs). */
function runsWorkload(r: ResourceInputs): boolean {
  if (r.type === TYPES.service) return true;
  if (r.type !== TYPES.container) return false;
  const role = labelsOf(r)[LABEL.role];
  return role === undefined || role === "workload";
}

function envOf(r: ResourceInputs): Record<string, string> {
  if (r.type === TYPES.service) return { ...(r.props.taskSpec?.containerSpec?.env ?? {}) };
  const list: string[] = r.props.envs ?? [];
  return Object.fromEntries(list.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

/** Every container and service has a memory limit. */
export function requireMemoryLimit(r: ResourceInputs): string[] {
  if (r.type === TYPES.container && !(Number(r.props.memory) > 0)) {
    return [`container ${r.name} has no memory limit`];
  }
  if (r.type === TYPES.service && !(Number(r.props.taskSpec?.resources?.limits?.memoryBytes) > 0)) {
    return [`service ${r.name} has no memory limit`];
  }
  return [];
}

/**
 * Names that hold secrets: anything with PASSWORD or SECRET, and names ending in KEY or TOKEN
 * (`JWT_SIGNING_KEY`, `API_TOKEN`). A KEY or TOKEN in the middle names something else
 * (`REDIS_KEY_PREFIX`, `ACCESS_TOKEN_TTL_SECONDS`).
 */
export const SECRET_NAME = /PASSWORD|PASSWD|SECRET|(^|[_.])(KEY|TOKEN|CREDENTIALS)$/i;

/** No secret-looking variable carries a plain value: secrets arrive as `*_FILE` paths. */
export function noPlainSecretEnv(r: ResourceInputs): string[] {
  if (r.type !== TYPES.container && r.type !== TYPES.service) return [];
  return Object.entries(envOf(r))
    .filter(([key, value]) => SECRET_NAME.test(key) && !/_FILE$/.test(key) && value !== "")
    .map(([key]) => `${r.name} sets ${key} in plain text; pass a file path in ${key}_FILE instead`);
}

/** A reference names an exact tag or digest (not `latest`, not bare). */
export function isPinned(ref: string): boolean {
  if (/^sha256:[0-9a-f]{64}$/.test(ref) || /@sha256:[0-9a-f]{64}$/.test(ref)) return true;
  const lastSegment = ref.slice(ref.lastIndexOf("/") + 1);
  const colon = lastSegment.indexOf(":");
  if (colon < 0) return false;
  const tag = lastSegment.slice(colon + 1);
  return tag !== "" && tag !== "latest";
}

/** Third-party images are pinned; built images carry an immutable tag. */
export function requirePinnedImages(r: ResourceInputs): string[] {
  const refs: unknown[] =
    r.type === TYPES.remoteImage
      ? [r.props.name]
      : r.type === TYPES.image
        ? [r.props.imageName]
        : r.type === TYPES.container
          ? [r.props.image]
          : r.type === TYPES.service
            ? [r.props.taskSpec?.containerSpec?.image]
            : [];
  return refs
    .filter((ref): ref is string => typeof ref === "string")
    .filter((ref) => !isPinned(ref))
    .map((ref) => `${r.name} uses ${ref}: pin an exact tag or digest (never latest)`);
}

/** No privileged container. */
export function noPrivileged(r: ResourceInputs): string[] {
  if (r.type === TYPES.container && r.props.privileged === true) return [`container ${r.name} is privileged`];
  const adds: string[] = r.type === TYPES.container ? (r.props.capabilities?.adds ?? []) : [];
  const serviceAdds: string[] =
    r.type === TYPES.service ? (r.props.taskSpec?.containerSpec?.capAdds ?? []) : [];
  return [...adds, ...serviceAdds]
    .filter((c) => /^(CAP_)?(ALL|SYS_ADMIN)$/i.test(c))
    .map((c) => `${r.name} adds the ${c} capability`);
}

/** Only the edge publishes ports; others may bind 127.0.0.1 for debugging, never a public address. */
export function publishOnlyAtTheEdge(r: ResourceInputs): string[] {
  const edge = labelsOf(r)[LABEL.tier] === "edge";
  if (edge) return [];
  if (r.type === TYPES.container) {
    const ports: { ip?: string; external?: number }[] = r.props.ports ?? [];
    return ports
      .filter((p) => p.ip !== "127.0.0.1")
      .map((p) => `container ${r.name} publishes port ${p.external ?? "(random)"} but is not the edge`);
  }
  if (r.type === TYPES.service) {
    const ports: { publishedPort?: number }[] = r.props.endpointSpec?.ports ?? [];
    return ports.map(
      (p) => `service ${r.name} publishes port ${p.publishedPort ?? "(random)"} but is not the edge`,
    );
  }
  return [];
}

/** A stateful workload keeps its data in a named volume. */
export function requireStatefulVolume(r: ResourceInputs): string[] {
  if (!runsWorkload(r) || labelsOf(r)[LABEL.stateful] !== "true") return [];
  const hasVolume =
    r.type === TYPES.container
      ? (r.props.volumes ?? []).some((v: { volumeName?: string }) => Boolean(v.volumeName))
      : (r.props.taskSpec?.containerSpec?.mounts ?? []).some(
          (m: { type?: string; source?: string }) => m.type === "volume" && Boolean(m.source),
        );
  return hasVolume ? [] : [`${r.name} is stateful but keeps no data in a named volume`];
}

/** Swarm services update with automatic rollback and have a rollback policy. */
export function requireSwarmRollback(r: ResourceInputs): string[] {
  if (r.type !== TYPES.service) return [];
  const out: string[] = [];
  if (r.props.updateConfig?.failureAction !== "rollback")
    out.push(`service ${r.name} does not roll back a failed update`);
  if (!r.props.rollbackConfig) out.push(`service ${r.name} has no rollback configuration`);
  return out;
}

/** Stack rule: the named volumes stateful workloads mount are volumes of this stack. */
export function statefulVolumesManaged(resources: ResourceInputs[]): string[] {
  const managed = new Set(
    resources.filter((r) => r.type === TYPES.volume).map((r) => r.props.name as string),
  );
  return resources.filter(runsWorkload).flatMap((r) => {
    if (labelsOf(r)[LABEL.stateful] !== "true") return [];
    const used: string[] =
      r.type === TYPES.container
        ? (r.props.volumes ?? []).flatMap((v: { volumeName?: string }) =>
            v.volumeName ? [v.volumeName] : [],
          )
        : (r.props.taskSpec?.containerSpec?.mounts ?? []).flatMap((m: { type?: string; source?: string }) =>
            m.type === "volume" && m.source ? [m.source] : [],
          );
    return used
      .filter((v) => !managed.has(v))
      .map((v) => `${r.name} mounts ${v}, which this stack does not manage`);
  });
}

type Kind = keyof typeof TYPES;

export const RESOURCE_RULES: Record<
  string,
  { description: string; appliesTo: Kind[]; check: (r: ResourceInputs) => string[] }
> = {
  "memory-limit": {
    description: "Every container and service has a memory limit.",
    appliesTo: ["container", "service"],
    check: requireMemoryLimit,
  },
  "no-plain-secret-env": {
    description:
      "No *PASSWORD*, *SECRET*, *KEY* or *TOKEN* variable with a plain value; secrets come as *_FILE.",
    appliesTo: ["container", "service"],
    check: noPlainSecretEnv,
  },
  "pinned-images": {
    description: "No :latest or untagged image.",
    appliesTo: ["remoteImage", "image", "container", "service"],
    check: requirePinnedImages,
  },
  "no-privileged": {
    description: "No privileged container, no ALL or SYS_ADMIN capability.",
    appliesTo: ["container", "service"],
    check: noPrivileged,
  },
  "publish-only-edge": {
    description: "Only the edge publishes ports (loopback debug ports aside).",
    appliesTo: ["container", "service"],
    check: publishOnlyAtTheEdge,
  },
  "stateful-volume": {
    description: "Stateful workloads keep their data in a named volume.",
    appliesTo: ["container", "service"],
    check: requireStatefulVolume,
  },
  "swarm-rollback": {
    description: "Swarm services roll back failed updates.",
    appliesTo: ["service"],
    check: requireSwarmRollback,
  },
};

export const STACK_RULES: Record<
  string,
  { description: string; check: (resources: ResourceInputs[]) => string[] }
> = {
  "stateful-volumes-managed": {
    description: "The volumes stateful workloads mount are managed by this stack.",
    check: statefulVolumesManaged,
  },
};

/** Every violation of every rule across a set of resources, as `rule: message`. */
export function evaluate(resources: ResourceInputs[]): string[] {
  const perResource = resources.flatMap((r) =>
    Object.entries(RESOURCE_RULES).flatMap(([name, rule]) => rule.check(r).map((v) => `${name}: ${v}`)),
  );
  const perStack = Object.entries(STACK_RULES).flatMap(([name, rule]) =>
    rule.check(resources).map((v) => `${name}: ${v}`),
  );
  return [...perResource, ...perStack];
}
