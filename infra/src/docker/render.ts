/**
 * Pure functions from the model to Docker settings, shared by the one-host and the Swarm
 * renderings. No Pulumi resources here: the components in this folder only assemble what these
 * functions return.
 */
import { DOCKER_CONTAINERS_DIR, LABELS, LOGGED_LABELS } from "../config-files/index.js";
import type { Workload } from "../model/index.js";
import { firstPort, portByName } from "../model/index.js";

/** Docker's health check `test` for a workload, run inside its image. */
export function healthcheckTest(w: Workload): string[] | undefined {
  const h = w.health;
  if (!h) return undefined;
  if (h.kind === "exec") {
    if (!h.command?.length) throw new Error(`${w.name}: exec health check without a command`);
    return ["CMD", ...h.command];
  }
  const port = h.port ? portByName(w, h.port) : firstPort(w);
  const path = h.path ?? "/";
  const url = `http://127.0.0.1:${port}${path}`;
  switch (h.probe ?? "wget") {
    case "wget":
      return ["CMD", "wget", "-q", "-O", "/dev/null", url];
    case "bash":
      return ["CMD", "bash", "-c", bashHttpProbe(String(port), path)];
  }
}

/**
 * An HTTP probe in bash alone (its `/dev/tcp`): no process but the shell starts, so it answers in
 * milliseconds even under a container's fraction of a CPU, where starting a Node runtime per
 * probe can take longer than the probe's timeout. Succeeds on a `200` status line. `port` may be
 * a shell expansion (`services/Dockerfile` passes `\${PORT:?…}`).
 */
export function bashHttpProbe(port: string, path: string): string {
  return `exec 3<>/dev/tcp/127.0.0.1/${port} && printf 'GET ${path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && read -r -t 2 status <&3 && [[ $status == *' 200 '* ]]`;
}

/**
 * A duration as the Docker provider reads it back from a container: Go's `time.Duration.String()`
 * (`60s` is read back as `1m0s`). Writing it in any other form shows as a change on every preview.
 */
export function containerDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`not a whole number of seconds: ${seconds}`);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/**
 * A duration as the Docker provider reads it back from a Swarm service (its `shortDur`): Go's form
 * without a trailing `0s` or `0m` (`120s` is read back as `2m`, `90s` as `1m30s`).
 */
export function serviceDuration(seconds: number): string {
  let d = containerDuration(seconds);
  if (d.endsWith("m0s")) d = d.slice(0, -2);
  if (d.endsWith("h0m")) d = d.slice(0, -2);
  return d;
}

/** Health check timing in the form the provider reads back for a container or a Swarm service. */
export function healthcheckTiming(w: Workload, kind: "container" | "service" = "container") {
  const h = w.health!;
  const d = kind === "container" ? containerDuration : serviceDuration;
  return {
    interval: d(h.intervalSeconds),
    timeout: d(h.timeoutSeconds),
    retries: h.retries,
    startPeriod: d(h.startPeriodSeconds),
  };
}

/** How long `pulumi up` waits for a container to turn healthy before it fails. */
export function healthWaitSeconds(w: Workload): number {
  const h = w.health;
  if (!h) return 60;
  return h.startPeriodSeconds + h.intervalSeconds * (h.retries + 1) + 60;
}

export function workloadLabels(w: Workload, environment: string): Record<string, string> {
  return {
    [LABELS.stack]: environment,
    [LABELS.workload]: w.name,
    [LABELS.tier]: w.tier,
    [LABELS.stateful]: String(w.stateful),
    ...(w.version ? { [LABELS.version]: w.version } : {}),
  };
}

export const labelList = (labels: Record<string, string>) =>
  Object.entries(labels).map(([label, value]) => ({ label, value }));

/** CPU limit (twice the reservation) as Docker's `--cpus` value. */
export function cpuLimit(w: Workload): string {
  return String(Math.max(0.05, (w.resources.cpuMillis * 2) / 1000));
}

export const MiB = 1024 * 1024;

export function tmpfsOptions(w: Workload): Record<string, string> {
  return Object.fromEntries(w.tmpfs.map((path) => [path, "rw,noexec,nosuid,size=64m"]));
}

/**
 * Swarm placement. Stateful parts keep their data in volumes local to one node, and the edge
 * publishes its ports on the node it runs on (host mode), so both are pinned to the configured
 * node by hostname: `node.role==manager` would let them move to another manager with an empty
 * volume. Stateless services need no placement: the scheduler already puts each new task on the
 * node with the fewest tasks of its service (a `spread=node.id` preference would be ignored, as
 * Swarm spreads only over `node.labels.*` and `engine.labels.*`).
 */
export function swarmPlacement(w: Workload, dataNode: string): { constraints: string[] } | undefined {
  if (w.readsContainerLogs) return undefined; // global service: one per node
  if (w.stateful || w.tier === "edge") return { constraints: [`node.hostname==${dataNode}`] };
  return undefined;
}

/**
 * Rolling updates one task at a time with automatic rollback. Stateless services start the new
 * task before stopping the old one (no gap); a stateful one must stop first, since two tasks
 * must never open the same volume.
 */
export function swarmUpdatePolicy(w: Workload) {
  const order = w.stateful ? "stop-first" : "start-first";
  // Durations and the ratio in the form the provider reads back (`0.0`, `2m`), or every preview
  // would show a change and every `up` would update every service.
  return {
    updateConfig: {
      parallelism: 1,
      delay: serviceDuration(10),
      order,
      failureAction: "rollback",
      monitor: serviceDuration(30),
      maxFailureRatio: "0.0",
    },
    rollbackConfig: {
      parallelism: 1,
      delay: serviceDuration(0),
      order,
      failureAction: "pause",
      monitor: serviceDuration(30),
      maxFailureRatio: "0.0",
    },
    restartPolicy: {
      condition: "any",
      delay: serviceDuration(5),
      maxAttempts: 0,
      window: serviceDuration(120),
    },
  };
}

/**
 * `json-file` options of every container: bounded rotation, and the labels and name Promtail
 * reads from each line (it tails these files instead of asking the Docker API).
 */
export const DOCKER_LOG_OPTIONS: Record<string, string> = {
  "max-size": "10m",
  "max-file": "3",
  labels: LOGGED_LABELS.join(","),
  tag: "{{.Name}}",
};

/**
 * What the log collector mounts from the host: the engine's log files, read-only. Never the
 * Docker socket: even read-only it grants the whole API (root on the host).
 */
export const CONTAINER_LOGS_MOUNT = { hostPath: DOCKER_CONTAINERS_DIR, containerPath: DOCKER_CONTAINERS_DIR };
