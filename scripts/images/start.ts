/**
 * Phase 3 of `npm run images:test`: this run's secrets and data stores, then every image as a
 * container the way the Docker target runs it, in dependency order, each healthy and ready
 * before the next starts.
 */
import { createServer } from "node:net";
import { join } from "node:path";
import type { LocalEndpoints } from "../../infra/src/local/endpoints.js";
import {
  type LocalSecrets,
  provisionBroker,
  provisionDatabases,
  provisionRedis,
  removeIsolatedData,
  writeLocalSecrets,
} from "../../infra/src/local/provision.js";
import { firstPort, type Platform, type TargetResolver, type Workload } from "../../infra/src/model/index.js";
import { containerLogs, containerState, docker, sleep } from "./docker.js";
import {
  containerEnv,
  edgePort,
  isNodeService,
  type ModelGap,
  type RunScope,
  runArgs,
  secretMounts,
  writablePathGaps,
} from "./platform.js";
import {
  HEALTH_INTERVAL_S,
  type ImageRow,
  LABEL,
  log,
  onCleanup,
  PORT_OFFSET,
  STRICT_MODEL,
  seconds,
} from "./run.js";

/** The host port a workload that is not a Node service (the storefront) is published on. */
export const publishedPort = (w: Workload) => firstPort(w) + PORT_OFFSET;
/** The container of a workload in this run. */
export const containerName = (scope: RunScope, w: Workload) => `shopstream-${scope.isolation}${w.name}`;

/** Exactly what an isolated local run does: a database and user per owner, under the prefix. */
async function provisionStores(
  platform: Platform,
  scope: RunScope,
  secrets: LocalSecrets,
  endpoints: LocalEndpoints,
) {
  onCleanup("databases, users, Redis keys, exchanges and queues", () =>
    removeIsolatedData(platform, endpoints, scope.isolation),
  );
  await provisionDatabases(platform, secrets, endpoints, scope.isolation);
  await provisionBroker(platform, secrets, endpoints, scope.isolation);
  await provisionRedis(platform, secrets, endpoints, scope.isolation);
}

async function assertPortsFree(ports: number[]): Promise<void> {
  for (const port of ports) {
    await new Promise<void>((ok, fail) => {
      const s = createServer();
      s.once("error", () =>
        fail(
          new Error(
            `127.0.0.1:${port} is in use; move this run with IMAGES_PORT_OFFSET (now ${PORT_OFFSET})`,
          ),
        ),
      );
      s.listen(port, "127.0.0.1", () => s.close(() => ok()));
    });
  }
}

async function waitHealthy(name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let state = await containerState(name);
  while (Date.now() < deadline) {
    state = await containerState(name);
    if (!state.Running) {
      throw new Error(
        `${name} exited with code ${state.ExitCode}${state.OOMKilled ? " (OOM-killed)" : ""}:\n${await containerLogs(name)}`,
      );
    }
    if (state.Health?.Status === "healthy") return;
    if (state.Health?.Status === "unhealthy") break;
    await sleep(200);
  }
  const probes = (state.Health?.Log ?? []).slice(-3).map((l) => `exit ${l.ExitCode}: ${l.Output.trim()}`);
  throw new Error(
    `${name} is ${state.Health?.Status ?? "without a health check"} after ${timeoutMs / 1000} s; last probes: ${probes.join(" | ")}\n${await containerLogs(name)}`,
  );
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `${res.status} ${(await res.text()).slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`${url} did not answer 2xx within ${timeoutMs / 1000} s (${last})`);
}

/** Secrets, databases, Redis keys, exchange and queues of this run. */
export async function provisionRun(
  platform: Platform,
  scope: RunScope,
  endpoints: LocalEndpoints,
  tmp: string,
): Promise<LocalSecrets> {
  const apps = platform.workloads.filter((w) => w.local);
  const stateDir = join(tmp, "state");
  const secrets = writeLocalSecrets(apps, stateDir, {}, platform.secrets);
  onCleanup("secrets", () => secrets.remove());
  await provisionStores(platform, scope, secrets, endpoints);
  return secrets;
}

/**
 * Containers, in dependency order, each healthy and ready before the next starts; adds the gaps
 * of the model it finds to `modelGaps`. Returns the workloads it started, in that order.
 */
export async function startContainers(run: {
  platform: Platform;
  workloads: Workload[];
  scope: RunScope;
  resolver: TargetResolver;
  secrets: LocalSecrets;
  rows: Map<string, ImageRow>;
  tmp: string;
  modelGaps: ModelGap[];
}): Promise<Workload[]> {
  const { platform, workloads, scope, resolver, secrets, rows, tmp, modelGaps } = run;
  await assertPortsFree([
    edgePort(scope),
    ...workloads.map((w) => (isNodeService(w) ? resolver.port(w) : publishedPort(w))),
  ]);

  // Containers, in dependency order, each healthy and ready before the next starts.
  const containerOf = (w: Workload) => containerName(scope, w);
  const startedContainers: Workload[] = [];
  onCleanup("containers", async () => {
    const ids = await docker(["ps", "-aq", "--filter", `label=${LABEL}=${scope.isolation}`]);
    if (ids) await docker(["rm", "-f", "-v", ...ids.split("\n")]);
  });
  const mountsDir = join(tmp, "run-secrets");
  for (const w of workloads) {
    const env = containerEnv(platform, w, scope, resolver);
    const gaps = writablePathGaps(w, env);
    modelGaps.push(...gaps);
    for (const g of gaps) {
      log(
        `MODEL GAP: ${g.workload} writes ${g.variable}=${g.path}, which the model leaves on its read-only root (no volume, no tmpfs); ${STRICT_MODEL ? "IMAGES_STRICT_MODEL=1: running it as the model says" : "mounting a tmpfs there for this run"}`,
      );
    }
    const [uid = "0", gid = uid] = (w.user ?? "0").split(":");
    const name = containerOf(w);
    const t0 = performance.now();
    await docker(
      runArgs(w, {
        name,
        image: rows.get(w.name)!.image,
        labels: { [LABEL]: scope.isolation },
        env,
        mounts: secretMounts(w, secrets, mountsDir),
        network: isNodeService(w) ? { kind: "host" } : { kind: "publish", hostPort: publishedPort(w) },
        extraTmpfs: STRICT_MODEL ? [] : gaps.map((g) => ({ path: g.path, uid, gid })),
        healthIntervalSeconds: HEALTH_INTERVAL_S,
      }),
    );
    startedContainers.push(w);
    const row = rows.get(w.name)!;
    const health = w.health;
    await waitHealthy(name, ((health?.startPeriodSeconds ?? 20) + 30) * 1000);
    row.startToHealthySeconds = seconds(performance.now() - t0);
    const port = isNodeService(w) ? resolver.port(w) : publishedPort(w);
    await waitReady(`http://127.0.0.1:${port}${w.readinessPath ?? health?.path ?? "/"}`, 30_000);
    row.startToReadySeconds = seconds(performance.now() - t0);
    log(
      `${w.name}: healthy in ${row.startToHealthySeconds} s, ready in ${row.startToReadySeconds} s (127.0.0.1:${port})`,
    );
  }
  return startedContainers;
}
