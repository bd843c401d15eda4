/**
 * What the Docker provider (kreuzwerker's terraform-provider-docker, under @pulumi/docker 5.2.0)
 * sends to the engine for each resource the program registers, applied to a real engine:
 *
 *  - Network: NetworkCreate with the driver, `internal`, `attachable` and labels.
 *  - Volume: VolumeCreate with its labels.
 *  - Container: ContainerCreate (image by ID, env, command, user, hostname, health check with Go
 *    durations, read-only root, tmpfs, memory in MiB, CPUs, dropped capabilities, security
 *    options, restart policy, log driver, labels, binds for named volumes and host paths,
 *    `volumes_from` for volumes of another container, anonymous volumes for bare container
 *    paths), then a disconnect from the default bridge and a connect to each of
 *    `networks_advanced` with its aliases, then one CopyToContainer of a tar per `upload` (its
 *    owner, group and permissions in the tar header), then ContainerStart unless `start` is false;
 *    `attach` waits for the container to exit, `wait` for it to turn healthy.
 *
 * Every object is renamed into the run's namespace and labelled with the run, so that parallel
 * runs never meet and a killed run's leftovers can be found.
 */
import type { RecordedResource } from "../../test/infra/record-stack.js";
import { type ContainerInfo, call, inspect, logs, tarOf } from "./engine.js";

export const RUN_LABEL = "org.shopstream.replay.run";
export const PID_LABEL = "org.shopstream.replay.pid";

export interface Namespace {
  /** The run's unique prefix, e.g. `replay-k3x9q1`. */
  run: string;
  /** The program's object prefix it replaces (`shopstream-dev`). */
  programPrefix: string;
}

export const physical = (ns: Namespace, name: string): string =>
  name.startsWith(`${ns.programPrefix}-`)
    ? `${ns.run}-${name.slice(ns.programPrefix.length + 1)}`
    : `${ns.run}-${name}`;

type Labels = { label: string; value: string }[];
const labelMap = (ns: Namespace, labels: Labels | undefined): Record<string, string> => ({
  ...Object.fromEntries((labels ?? []).map((l) => [l.label, l.value])),
  [RUN_LABEL]: ns.run,
  [PID_LABEL]: String(process.pid),
});

export async function createNetwork(ns: Namespace, r: RecordedResource): Promise<string> {
  const i = r.inputs;
  const created = await call<{ Id: string }>("POST", "/networks/create", {
    json: {
      Name: physical(ns, i.name),
      Driver: i.driver ?? "bridge",
      Internal: Boolean(i.internal),
      Attachable: Boolean(i.attachable),
      CheckDuplicate: true,
      Labels: labelMap(ns, i.labels),
    },
  });
  return created.Id;
}

export async function createVolume(ns: Namespace, r: RecordedResource): Promise<string> {
  const name = physical(ns, r.inputs.name);
  await call("POST", "/volumes/create", { json: { Name: name, Labels: labelMap(ns, r.inputs.labels) } });
  return name;
}

/** Go's time.ParseDuration for the forms the program writes (`1m0s`, `30s`, `2h0m0s`), in ns. */
export function goDuration(d: string | undefined): number {
  if (!d) return 0;
  const re = /(\d+(?:\.\d+)?)(h|m|s|ms)/g;
  const unit = { h: 3600e9, m: 60e9, s: 1e9, ms: 1e6 } as const;
  let total = 0;
  let seen = "";
  for (const m of d.matchAll(re)) {
    total += Number(m[1]) * unit[m[2] as keyof typeof unit];
    seen += m[0];
  }
  if (seen !== d) throw new Error(`not a Go duration: ${d}`);
  return Math.round(total);
}

export interface ContainerPlan {
  resource: RecordedResource;
  /** Physical name. */
  name: string;
  body: Record<string, unknown>;
  networks: { name: string; aliases: string[] }[];
  uploads: { path: string; content: string; mode: number; uid: number; gid: number }[];
  start: boolean;
  attach: boolean;
  /** Seconds to wait for healthy (`wait`), or undefined. */
  waitSeconds?: number;
}

/**
 * The ContainerCreate request for one recorded container. `imageId` maps the program's image
 * reference to the engine's image ID; `containerId` maps the program's `volumes_from` reference
 * (a resource's ID) to the container created for it.
 */
export function planContainer(
  ns: Namespace,
  r: RecordedResource,
  imageId: (ref: string) => string,
  containerId: (ref: string) => string,
): ContainerPlan {
  const i = r.inputs;
  const binds: string[] = [];
  const volumesFrom: string[] = [];
  const anonymous: Record<string, object> = {};
  for (const v of (i.volumes ?? []) as Record<string, unknown>[]) {
    const ro = v.readOnly ? ":ro" : "";
    if (v.fromContainer) {
      // Passed to the engine as given (the provider ignores `readOnly` here; `:ro` is in the ID).
      const [ref, mode] = String(v.fromContainer).split(":");
      volumesFrom.push(mode ? `${containerId(ref!)}:${mode}` : containerId(ref!));
    } else if (v.volumeName) binds.push(`${physical(ns, String(v.volumeName))}:${v.containerPath}${ro}`);
    else if (v.hostPath) binds.push(`${v.hostPath}:${v.containerPath}${ro}`);
    else anonymous[String(v.containerPath)] = {};
  }
  const h = i.healthcheck;
  const capabilities = i.capabilities ?? {};
  const body: Record<string, unknown> = {
    Image: imageId(String(i.image)),
    Hostname: i.hostname ?? "",
    Env: i.envs ?? [],
    ...(i.command ? { Cmd: i.command } : {}),
    ...(i.entrypoints ? { Entrypoint: i.entrypoints } : {}),
    User: i.user ?? "",
    Labels: labelMap(ns, i.labels),
    ...(Object.keys(anonymous).length ? { Volumes: anonymous } : {}),
    ...(i.stopTimeout !== undefined ? { StopTimeout: i.stopTimeout } : {}),
    ...(h
      ? {
          Healthcheck: {
            Test: h.tests,
            Interval: goDuration(h.interval),
            Timeout: goDuration(h.timeout),
            StartPeriod: goDuration(h.startPeriod),
            Retries: h.retries ?? 0,
          },
        }
      : {}),
    HostConfig: {
      Binds: binds,
      VolumesFrom: volumesFrom,
      ReadonlyRootfs: Boolean(i.readOnly),
      Tmpfs: i.tmpfs ?? {},
      ...(i.memory ? { Memory: i.memory * 1024 * 1024 } : {}),
      ...(i.cpus ? { NanoCpus: Math.round(Number(i.cpus) * 1e9) } : {}),
      CapAdd: capabilities.adds ?? [],
      CapDrop: capabilities.drops ?? [],
      SecurityOpt: i.securityOpts ?? [],
      RestartPolicy: { Name: i.restart ?? "no", MaximumRetryCount: 0 },
      LogConfig: { Type: i.logDriver ?? "json-file", Config: i.logOpts ?? {} },
      Init: false,
    },
  };
  if ((i.ports ?? []).length > 0)
    throw new Error(`${r.name}: the replay publishes no ports (${JSON.stringify(i.ports)})`);
  return {
    resource: r,
    name: physical(ns, String(i.name)),
    body,
    networks: ((i.networksAdvanced ?? []) as { name: string; aliases?: string[] }[]).map((n) => ({
      name: physical(ns, n.name),
      aliases: n.aliases ?? [],
    })),
    uploads: ((i.uploads ?? []) as Record<string, string | boolean>[]).map((u) => ({
      path: String(u.file),
      content: String(u.content ?? ""),
      mode: u.permissions ? Number.parseInt(String(u.permissions), 8) : u.executable ? 0o744 : 0o644,
      uid: Number(u.owner ?? 0),
      gid: Number(u.group ?? 0),
    })),
    start: i.start !== false,
    attach: Boolean(i.attach),
    ...(i.wait ? { waitSeconds: Number(i.waitTimeout ?? 60) } : {}),
  };
}

/** Creates, wires, fills and starts one container as the provider does; returns its ID. */
export async function createContainer(plan: ContainerPlan): Promise<string> {
  const { Id } = await call<{ Id: string }>("POST", "/containers/create", {
    query: { name: plan.name },
    json: plan.body,
  });
  if (plan.networks.length > 0) {
    await call("POST", "/networks/bridge/disconnect", { json: { Container: Id, Force: false } });
    for (const n of plan.networks) {
      await call("POST", `/networks/${encodeURIComponent(n.name)}/connect`, {
        json: { Container: Id, EndpointConfig: { Aliases: n.aliases, IPAMConfig: {} } },
      });
    }
  }
  for (const u of plan.uploads) {
    await call("PUT", `/containers/${Id}/archive`, { query: { path: "/" }, tar: tarOf([u]) });
  }
  if (plan.start) await call("POST", `/containers/${Id}/start`);
  return Id;
}

/** What a container came to: healthy, exited (with its code) or given up on. */
export async function settle(
  id: string,
  plan: ContainerPlan,
  signal: AbortSignal,
): Promise<{ state: "healthy" | "exited" | "running"; info: ContainerInfo; seconds: number }> {
  const t0 = performance.now();
  if (plan.attach) {
    const waited = await call<{ StatusCode: number }>("POST", `/containers/${id}/wait`, {
      timeoutMs: 300_000,
    });
    const info = await inspect(id);
    if (waited.StatusCode !== 0)
      throw new Error(`${plan.name} exited with ${waited.StatusCode}:\n${await logs(id)}`);
    return { state: "exited", info, seconds: (performance.now() - t0) / 1000 };
  }
  if (plan.waitSeconds === undefined || !plan.start) {
    return { state: "running", info: await inspect(id), seconds: 0 };
  }
  const deadline = t0 + plan.waitSeconds * 1000;
  for (;;) {
    const info = await inspect(id);
    const health = info.State.Health?.Status;
    if (health === "healthy") return { state: "healthy", info, seconds: (performance.now() - t0) / 1000 };
    if (!info.State.Running || health === "unhealthy" || performance.now() > deadline || signal.aborted) {
      const probe = info.State.Health?.Log?.at(-1);
      throw new Error(
        `${plan.name} did not turn healthy (${info.State.Status}, health ${health ?? "none"}, exit ${info.State.ExitCode}${info.State.OOMKilled ? ", OOM-killed" : ""})` +
          `${probe ? `\nlast probe (${probe.ExitCode}): ${probe.Output.trim().slice(0, 400)}` : ""}\n${await logs(id)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
