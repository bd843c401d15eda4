/**
 * The platform model as `images:test` runs it: the app workloads as containers on this machine's
 * host network, next to its MariaDB, Redis and RabbitMQ, wired by the model exactly as the Docker
 * target wires them, except for what must differ on a shared machine, which the model's settings
 * say too: ports (`sharedHost`: moved by an offset, so a `npm run dev` or the tests can run
 * alongside) and names (`isolation`: databases, users, Redis keys, exchange and queues carry this
 * run's prefix, as in an isolated local run).
 */
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpuLimit, tmpfsOptions } from "../../infra/src/docker/render.js";
import type { LocalEndpoints } from "../../infra/src/local/endpoints.js";
import type { LocalSecrets } from "../../infra/src/local/provision.js";
import { localResolver } from "../../infra/src/local/run.js";
import {
  buildPlatform,
  filesOf,
  firstPort,
  localSettings,
  type Platform,
  type PlatformSettings,
  renderEnv,
  SECRETS_DIR,
  type TargetResolver,
  userIds,
  type Workload,
} from "../../infra/src/model/index.js";

export interface RunScope {
  /**
   * The local run's isolation prefix (`img<pid>x<hex>_`): this run's databases, users, Redis keys,
   * exchange and queues carry it, and `removeIsolatedData` removes exactly those.
   */
  isolation: string;
  /** Added to every port of the model (gateway 8080 → 8080 + offset, and so on). */
  portOffset: number;
  adminEmail: string;
}

/** The pid of the run that owns an isolation prefix, to tell leftovers of a dead run. */
export const isolationPid = (name: string) => Number(/^img(\d+)x[0-9a-f]{4}_/.exec(name)?.[1] ?? 0);

/** Where the edge stand-in (Traefik's role: `/` → storefront, `/api` → gateway) listens. */
export const edgePort = (scope: RunScope) => 8000 + scope.portOffset;

/**
 * A container platform (not the local run: no STOREFRONT_DIR, images under /data/images) on this
 * machine's stores and host network, under the run's isolation prefix and port offset.
 */
export function imagesTestSettings(scope: RunScope): PlatformSettings {
  return localSettings({
    environment: "images-test",
    hosts: { ...localSettings().hosts, app: `127.0.0.1:${edgePort(scope)}` },
    search: "mariadb",
    images: "local",
    adminEmail: scope.adminEmail,
    logLevel: "warn",
    isolation: scope.isolation,
    sharedHost: { portOffset: scope.portOffset },
  });
}

export function imagesTestPlatform(scope: RunScope): Platform {
  return buildPlatform(imagesTestSettings(scope));
}

/** Built from services/Dockerfile: a Node service, run on the host network next to the stores. */
export const isNodeService = (w: Workload) => w.image.kind === "build" && Boolean(w.image.args.SERVICE);

/** The workloads built from this repo's Dockerfiles. */
export const builtWorkloads = (workloads: Workload[]) => workloads.filter((w) => w.image.kind === "build");

/** Host networking: every app port moved by the offset, the data stores where this machine has them. */
export function hostResolver(scope: RunScope, endpoints: LocalEndpoints): TargetResolver {
  return localResolver(endpoints, SECRETS_DIR, imagesTestSettings(scope));
}

/**
 * The env a container receives: the model's as rendered, its settings having moved its port,
 * bound it to 127.0.0.1 (it shares the host's network) and named this run's data as the local
 * run isolates it. `scope` is the platform's own (`imagesTestPlatform`).
 */
export function containerEnv(
  platform: Platform,
  w: Workload,
  _scope: RunScope,
  resolver: TargetResolver,
): Record<string, string> {
  return renderEnv(platform, w, resolver);
}

/** A path the process writes to that the model leaves on a read-only root filesystem. */
export interface ModelGap {
  workload: string;
  variable: string;
  path: string;
}

/** Folders named by the env (IMAGES_DIR) that are neither a volume nor a tmpfs of the model. */
export function writablePathGaps(w: Workload, env: Record<string, string>): ModelGap[] {
  if (!w.readOnlyRootFilesystem) return [];
  const writable = [...w.tmpfs, ...w.volumes.map((v) => v.mountPath)];
  const gaps: ModelGap[] = [];
  for (const variable of ["IMAGES_DIR"]) {
    const path = env[variable];
    if (!path?.startsWith("/")) continue;
    if (!writable.some((p) => path === p || path.startsWith(`${p}/`)))
      gaps.push({ workload: w.name, variable, path });
  }
  return gaps;
}

/**
 * Each secret a workload reads, written as its own file, owned by the workload's user with the
 * Docker target's mode (0400), for a read-only bind mount at /run/secrets/<name>.
 */
export function secretMounts(w: Workload, secrets: LocalSecrets, dir: string): string[] {
  const { uid, gid } = userIds(w);
  const own = join(dir, w.name);
  mkdirSync(own, { recursive: true, mode: 0o700 });
  const args: string[] = [];
  for (const file of filesOf(w)) {
    if (file.source.kind !== "secret") {
      throw new Error(`${w.name}: generated file ${file.path} is not supported by images:test`);
    }
    const value = secrets.values[file.source.secret];
    if (value === undefined) throw new Error(`${w.name}: no value for secret ${file.source.secret}`);
    const source = join(own, file.source.secret);
    writeFileSync(source, value);
    chownSync(source, Number(uid), Number(gid));
    chmodSync(source, file.mode);
    args.push("--mount", `type=bind,source=${source},target=${file.path},readonly`);
  }
  return args;
}

export interface ContainerSpec {
  name: string;
  image: string;
  labels: Record<string, string>;
  env: Record<string, string>;
  mounts: string[];
  /** `host`, or publish the workload's first port on 127.0.0.1:<port> from the default bridge. */
  network: { kind: "host" } | { kind: "publish"; hostPort: number };
  extraTmpfs: { path: string; uid: string; gid: string }[];
  /** Health check interval override, so start-to-healthy is measured to the second. */
  healthIntervalSeconds: number;
}

/** `docker run` arguments with the Docker target's settings: user, read-only root, tmpfs, limits. */
export function runArgs(w: Workload, spec: ContainerSpec): string[] {
  const args = ["run", "-d", "--name", spec.name];
  for (const [k, v] of Object.entries(spec.labels)) args.push("--label", `${k}=${v}`);
  if (spec.network.kind === "host") args.push("--network", "host");
  else args.push("-p", `127.0.0.1:${spec.network.hostPort}:${firstPort(w)}`);
  if (w.user) args.push("--user", w.user);
  if (w.readOnlyRootFilesystem) args.push("--read-only");
  for (const [path, options] of Object.entries(tmpfsOptions(w))) args.push("--tmpfs", `${path}:${options}`);
  // Volumes become tmpfs here (nothing must outlive the run), owned as the model says.
  for (const v of w.volumes) {
    const { uid, gid } = v.ownedBy ? userIds({ ...w, user: v.ownedBy }) : userIds(w);
    args.push("--tmpfs", `${v.mountPath}:rw,nosuid,size=64m,uid=${uid},gid=${gid},mode=0700`);
  }
  for (const t of spec.extraTmpfs) {
    args.push("--tmpfs", `${t.path}:rw,noexec,nosuid,size=64m,uid=${t.uid},gid=${t.gid},mode=0700`);
  }
  args.push("--memory", `${w.resources.memoryMiB}m`, "--cpus", cpuLimit(w));
  args.push("--cap-drop", "ALL", "--security-opt", "no-new-privileges:true");
  args.push("--stop-timeout", String(w.stopGracePeriodSeconds));
  args.push("--health-interval", `${spec.healthIntervalSeconds}s`);
  for (const [k, v] of Object.entries(spec.env)) args.push("-e", `${k}=${v}`);
  args.push(...spec.mounts, spec.image);
  return args;
}
