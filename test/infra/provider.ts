/**
 * What the pinned Docker provider (@pulumi/docker 5.2.0, bridging kreuzwerker's
 * terraform-provider-docker) does with the inputs the program registers, written down from its
 * source so that the mocked graph can be checked against it:
 *
 * - `readBack`: the inputs as the provider's Read stores them after `up`. A second preview diffs
 *   the program's inputs against this state; any difference is a change on every preview (and,
 *   for ForceNew fields, a replacement on every `up`).
 * - `providerRuleViolations`: schema conflicts, fields it ignores, and engine behaviour that
 *   makes an input silently useless.
 *
 * Sources (upstream files of terraform-provider-docker, internal/provider/):
 * - resource_docker_container_funcs.go, `resourceDockerContainerRead`: `image` is set to the
 *   container's image ID; the health check's durations to Go's `time.Duration.String()`
 *   (`1m0s`); only test, interval, timeout, start_period and retries are read.
 * - resource_docker_container_funcs.go, `volumeSetToDockerVolumes`: a `from_container` entry
 *   is passed to Docker as is; `read_only` is not looked at for it.
 * - resource_docker_service_structures.go: `flattenServiceUpdateOrRollbackConfig` (durations by
 *   `shortDur`, `max_failure_ratio` by `strconv.FormatFloat(r, 'f', 1, 64)`),
 *   `flattenTaskRestartPolicy` and `flattenServiceHealthcheck` (durations by `shortDur`),
 *   `flattenContainerSpec` (`stop_grace_period` by `shortDur`).
 * - resource_docker_service.go: `mode.global` conflicts with `converge_config`.
 * - swarmkit manager/scheduler/nodeset.go: spread preferences only on `node.labels.*` and
 *   `engine.labels.*`; any other descriptor is skipped.
 * - Docker engine: no port is published for a container that is only on internal networks;
 *   `docker network create` refuses an existing name.
 */
import type { RecordedResource } from "./mocks.js";
import { TYPES } from "./mocks.js";

// biome-ignore lint/suspicious/noExplicitAny: provider inputs of any shape
type Inputs = Record<string, any>;

/** Seconds in a Go duration string (`1m30s`, `90s`, `1h`, `500ms`). */
export function durationSeconds(d: string): number {
  const parts = [...d.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== d) throw new Error(`not a duration: ${d}`);
  const unit = { h: 3600, m: 60, s: 1, ms: 0.001 } as const;
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u as keyof typeof unit], 0);
}

/** Go's `time.Duration.String()` for whole seconds. */
export function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** The provider's `shortDur`: Go's form with a trailing `0s` (after minutes) and `0m` dropped. */
export function shortDur(seconds: number): string {
  let d = goDuration(seconds);
  if (d.endsWith("m0s")) d = d.slice(0, -2);
  if (d.endsWith("h0m")) d = d.slice(0, -2);
  return d;
}

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

const mapDurations = (obj: Inputs | undefined, keys: string[], format: (s: number) => string) => {
  if (!obj) return obj;
  const out = { ...obj };
  for (const k of keys) if (typeof out[k] === "string") out[k] = format(durationSeconds(out[k]));
  return out;
};

/** A resource's inputs as the provider's Read leaves them in the state. */
export function readBack(r: RecordedResource): Inputs {
  const i: Inputs = structuredClone(r.inputs);
  if (r.type === TYPES.container) {
    // The ID of whatever image the name resolves to: a name never reads back as itself.
    if (typeof i.image === "string" && !IMAGE_ID.test(i.image)) i.image = `sha256:<id of ${i.image}>`;
    if (i.healthcheck) {
      const { tests, interval, timeout, startPeriod, retries } = i.healthcheck;
      i.healthcheck = mapDurations(
        {
          tests,
          interval: interval ?? "0s",
          timeout: timeout ?? "0s",
          startPeriod: startPeriod ?? "0s",
          retries,
        },
        ["interval", "timeout", "startPeriod"],
        goDuration,
      );
    }
  }
  if (r.type === TYPES.service) {
    const cs = i.taskSpec?.containerSpec;
    if (cs) {
      if (cs.healthcheck)
        cs.healthcheck = mapDurations(cs.healthcheck, ["interval", "timeout", "startPeriod"], shortDur);
      if (typeof cs.stopGracePeriod === "string")
        cs.stopGracePeriod = shortDur(durationSeconds(cs.stopGracePeriod));
    }
    if (i.taskSpec?.restartPolicy)
      i.taskSpec.restartPolicy = mapDurations(i.taskSpec.restartPolicy, ["delay", "window"], shortDur);
    for (const key of ["updateConfig", "rollbackConfig"]) {
      const c = i[key];
      if (!c) continue;
      i[key] = mapDurations(c, ["delay", "monitor"], shortDur);
      if (c.maxFailureRatio !== undefined) i[key].maxFailureRatio = Number(c.maxFailureRatio).toFixed(1);
    }
  }
  return i;
}

/** Paths (`a.b[2].c`) where two values differ. */
export function differences(a: unknown, b: unknown, path = ""): string[] {
  if (Object.is(a, b)) return [];
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return [`${path} (length ${a.length} → ${b.length})`];
    return a.flatMap((x, n) => differences(x, b[n], `${path}[${n}]`));
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) =>
      differences((a as Inputs)[k], (b as Inputs)[k], path ? `${path}.${k}` : k),
    );
  }
  return [`${path}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`];
}

/** Resource types whose physical name is fixed by the program and refused when taken. */
const NAME_CLASHES_ON_CREATE = new Set<string>([TYPES.container, TYPES.service, TYPES.network]);

/**
 * Every provider rule a set of registered resources breaks. `internalNetworks` are the physical
 * names of the networks created with `internal: true`.
 */
export function providerRuleViolations(resources: RecordedResource[]): string[] {
  const out: string[] = [];
  const internal = new Set(
    resources
      .filter((r) => r.type === TYPES.network && r.inputs.internal)
      .map((r) => r.inputs.name as string),
  );
  for (const r of resources) {
    const i = r.inputs;
    if (NAME_CLASHES_ON_CREATE.has(r.type) && typeof i.name === "string" && !r.deleteBeforeReplace) {
      out.push(
        `${r.name}: fixed name ${i.name} without deleteBeforeReplace: a replacement fails on "already exists"`,
      );
    }
    if (r.type === TYPES.service) {
      if (i.mode?.global && i.convergeConfig)
        out.push(`${r.name}: mode.global conflicts with convergeConfig`);
      if (i.mode?.global && i.mode?.replicated)
        out.push(`${r.name}: mode.global conflicts with mode.replicated`);
      for (const pref of i.taskSpec?.placement?.prefs ?? []) {
        const descriptor = String(pref).replace(/^spread=/, "");
        if (!/^(node|engine)\.labels\./i.test(descriptor))
          out.push(
            `${r.name}: placement preference ${pref} is ignored (spread needs node.labels.* or engine.labels.*)`,
          );
      }
    }
    if (r.type === TYPES.container) {
      for (const v of i.volumes ?? []) {
        if (v.fromContainer && v.readOnly !== undefined)
          out.push(`${r.name}: readOnly on a volumes-from entry is ignored (use "<container>:ro")`);
      }
      if ((i.ports ?? []).length > 0) {
        const nets: string[] = (i.networksAdvanced ?? []).map((n: { name: string }) => n.name);
        if (nets.length > 0 && nets.every((n) => internal.has(n)))
          out.push(`${r.name}: publishes ports but is only on internal networks (Docker publishes nothing)`);
      }
    }
  }
  return out;
}
