/**
 * `npm run images:test`: every image built from its real Dockerfile and run for real.
 *
 *  1. Docker engine and base images (ensure-docker.sh, images:seed).
 *  2. Builds every image the platform model builds (BuildKit when available), two at a time;
 *     checks each for dev dependencies, sources and root; times a rebuild after a source change.
 *  3. Runs them as the Docker target would (user, read-only root, tmpfs, limits, secrets as
 *     read-only files under /run/secrets) against this machine's MariaDB, Redis and RabbitMQ,
 *     with the env the model renders; waits for each image's own HEALTHCHECK, then /ready.
 *  4. Sign-up → browse → cart → checkout → paid through the gateway container, the storefront
 *     container's page, and the same purchase in Chromium when it is installed.
 *  5. `docker stop` each container (SIGTERM) and expects exit code 0 within its grace period.
 *  6. Removes what it created (containers, databases, users, Redis keys, queues, temp dirs), also
 *     on failure or Ctrl-C. Images stay, labelled, as build cache.
 *
 * Prints a table and writes bench/results/images.json.
 *
 * Options: --cold (prune the BuildKit cache first, to measure a cold build), --no-rebuild.
 * Env: IMAGES_PORT_OFFSET (400), IMAGES_BUILD_PARALLEL (2), IMAGES_BUILDER (buildkit|classic),
 * IMAGES_ONLY (comma-separated workloads; the journeys need them all), CHROMIUM_PATH,
 * IMAGES_STRICT_MODEL=1 (no stand-in tmpfs where the model lacks a writable folder).
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import * as mariadb from "mariadb";
import { type LocalEndpoints, localEndpoints } from "../../infra/src/local/endpoints.js";
import { preflight } from "../../infra/src/local/preflight.js";
import {
  type LocalSecrets,
  provisionBroker,
  provisionDatabases,
  provisionRedis,
  removeIsolatedData,
  writeLocalSecrets,
} from "../../infra/src/local/provision.js";
import {
  firstPort,
  type Platform,
  REPO_ROOT,
  startOrder,
  type Workload,
} from "../../infra/src/model/index.js";
import { changeOneSource, snapshotContext } from "./context.js";
import {
  type Builder,
  buildImage,
  containerLogs,
  containerState,
  docker,
  exec,
  pickBuilder,
  sleep,
  stopRunningCommands,
} from "./docker.js";
import { type Edge, startEdge } from "./edge.js";
import { checkNodeImage, checkNonRoot, checkStaticImage, readLockfile } from "./hygiene.js";
import { apiJourney, browserJourney, storefrontPage } from "./journey.js";
import {
  builtWorkloads,
  containerEnv,
  edgePort,
  hostResolver,
  imagesTestPlatform,
  isNodeService,
  isolationPid,
  type ModelGap,
  type RunScope,
  runArgs,
  secretMounts,
  writablePathGaps,
} from "./platform.js";

const LABEL = "org.shopstream.images-test";
const IMAGE_REPO = "shopstream-images-test";
const PORT_OFFSET = Number(process.env.IMAGES_PORT_OFFSET ?? 400);
const BUILD_PARALLEL = Math.max(1, Number(process.env.IMAGES_BUILD_PARALLEL ?? 2));
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const COLD = process.argv.includes("--cold");
const REBUILD = !process.argv.includes("--no-rebuild");
/** Run exactly what the model says even where it leaves a written folder on a read-only root. */
const STRICT_MODEL = process.env.IMAGES_STRICT_MODEL === "1";
/** The image's HEALTHCHECK command, probed every second so start-to-healthy is measured closely. */
const HEALTH_INTERVAL_S = 1;

interface ImageRow {
  workload: string;
  image: string;
  imageId: string;
  dockerfile: string;
  sizeMB: number;
  buildSeconds: number;
  rebuildSeconds?: number;
  user: string;
  problems: string[];
  startToHealthySeconds?: number;
  startToReadySeconds?: number;
  memoryMiB?: number;
  memoryLimitMiB: number;
  stopSeconds?: number;
  stopGraceSeconds: number;
  stopExitCode?: number;
}

const log = (msg: string) => process.stdout.write(`images:test: ${msg}\n`);
const seconds = (ms: number) => Math.round(ms / 100) / 10;

// --- cleanup, run once: on success, on failure and on a signal --------------------------------
const cleanups: { what: string; run: () => Promise<unknown> | unknown }[] = [];
const onCleanup = (what: string, run: () => Promise<unknown> | unknown) => cleanups.push({ what, run });
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c.run();
      } catch (err) {
        process.stderr.write(`images:test: cleanup of ${c.what} failed: ${(err as Error).message}\n`);
      }
    }
  })();
  return cleaning;
}
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nimages:test: ${signal}: cleaning up\n`);
    stopRunningCommands();
    void cleanup().finally(() => process.exit(code));
  });
}

// --- 1. engine and base images ------------------------------------------------------------------
async function prepareEngine(): Promise<void> {
  for (const [what, script] of [
    ["Docker engine", ".ci/ensure-docker.sh"],
    ["base images", "scripts/images/seed.sh"],
  ] as const) {
    const r = await exec("bash", [join(REPO_ROOT, script)], { cwd: REPO_ROOT });
    if (r.code !== 0) throw new Error(`${what}: bash ${script} failed:\n${r.stderr.trim()}`);
    log(`${what}: ${`${r.stdout}${r.stderr}`.trim().split("\n").join(" | ")}`);
  }
}

/** What earlier runs left when they died without cleaning up (their pid is gone). */
async function sweepLeftovers(platform: Platform, endpoints: LocalEndpoints): Promise<void> {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const rows = await docker([
    "ps",
    "-a",
    "--filter",
    `label=${LABEL}`,
    "--format",
    `{{.ID}} {{.Label "${LABEL}"}}`,
  ]);
  const stale = rows
    .split("\n")
    .filter(Boolean)
    .map((r) => r.split(" "))
    .filter(([, isolation]) => !alive(isolationPid(isolation ?? "")))
    .map(([id]) => id!);
  if (stale.length) {
    await docker(["rm", "-f", "-v", ...stale]);
    log(`removed ${stale.length} container(s) left by an earlier run`);
  }
  const conn = await mariadb.createConnection({ ...endpoints.mariadb, connectTimeout: 5000 });
  const names = ((await conn.query("SHOW DATABASES")) as Record<string, string>[]).map(
    (r) => Object.values(r)[0]!,
  );
  await conn.end();
  const prefixes = new Set(
    names
      .filter((n) => isolationPid(n) && !alive(isolationPid(n)))
      .map((n) => n.slice(0, n.indexOf("_") + 1)),
  );
  for (const prefix of prefixes) {
    await removeIsolatedData(platform, endpoints, prefix);
    log(`removed the databases, keys and queues ${prefix}* left by an earlier run`);
  }
}

// --- 2. images ------------------------------------------------------------------------------------
async function pool<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const errors: unknown[] = [];
  await Promise.all(
    Array.from({ length: Math.min(size, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
        try {
          await work(item);
        } catch (err) {
          errors.push(err);
        }
      }
    }),
  );
  if (errors.length) throw errors[0];
}

function buildRequest(w: Workload, context: string, logDir: string, suffix = "") {
  if (w.image.kind !== "build") throw new Error(`${w.name} is not built from this repo`);
  return {
    dockerfile: join(context, w.image.dockerfile),
    context,
    args: w.image.args,
    labels: { [`${LABEL}.image`]: "true", "org.shopstream.workload": w.name },
    logFile: join(logDir, `build-${w.name}${suffix}.log`),
  };
}

async function buildAll(
  builder: Builder,
  workloads: Workload[],
  context: string,
  logDir: string,
): Promise<Map<string, ImageRow>> {
  const rows = new Map<string, ImageRow>();
  const lock = readLockfile(context);
  const build = async (w: Workload) => {
    const tag = `${IMAGE_REPO}/${w.name}:latest`;
    const previous = (await exec("docker", ["image", "inspect", "-f", "{{.Id}}", tag])).stdout.trim();
    const { id, seconds: s } = await buildImage(builder, { ...buildRequest(w, context, logDir), tag });
    // The tag moved: the image it named is only clutter now (kept if a container still uses it).
    if (previous && previous !== id) await exec("docker", ["image", "rm", previous]);
    const size = Number(await docker(["image", "inspect", "-f", "{{.Size}}", tag]));
    const { user, problems } = await checkNonRoot(tag);
    if (w.image.kind === "build" && w.image.args.SERVICE) {
      problems.push(...(await checkNodeImage(tag, w.image.args.SERVICE, lock)));
    } else {
      problems.push(...(await checkStaticImage(tag)));
    }
    rows.set(w.name, {
      workload: w.name,
      image: tag,
      imageId: id,
      dockerfile: w.image.kind === "build" ? w.image.dockerfile : "",
      sizeMB: Math.round(size / 1e5) / 10,
      buildSeconds: Math.round(s * 10) / 10,
      user,
      problems,
      memoryLimitMiB: w.resources.memoryMiB,
      stopGraceSeconds: w.stopGracePeriodSeconds,
    });
    log(
      `built ${tag} in ${s.toFixed(1)} s, ${(size / 1e6).toFixed(0)} MB, user ${user}${problems.length ? `, ${problems.length} problem(s)` : ""}`,
    );
  };
  // The first Node service alone fills the shared stages (dependencies, runtime) for the others.
  const first = workloads.find((w) => w.image.kind === "build" && w.image.args.SERVICE);
  if (first) await build(first);
  await pool(
    workloads.filter((w) => w !== first),
    BUILD_PARALLEL,
    build,
  );
  return rows;
}

/** The file of a workload's sources a rebuild probe changes (in the snapshot). */
function probeFile(w: Workload): string {
  if (w.image.kind !== "build") throw new Error(`${w.name} is not built from this repo`);
  if (w.image.args.SERVICE) return `services/${w.image.args.SERVICE}/src/main.ts`;
  return "services/storefront/src/main.tsx";
}

/** Seconds to rebuild each image after one line of its own source changed. */
async function timeRebuilds(
  builder: Builder,
  workloads: Workload[],
  rows: Map<string, ImageRow>,
  context: string,
  logDir: string,
) {
  for (const w of workloads) {
    const undo = changeOneSource(context, probeFile(w));
    try {
      const { id, seconds: s } = await buildImage(builder, buildRequest(w, context, logDir, "-rebuild"));
      const row = rows.get(w.name)!;
      // Same id: the change did not reach the image (then it must not be removed: it is the image).
      if (id === row.imageId)
        throw new Error(`${w.name}: a change to ${probeFile(w)} did not change the image`);
      await exec("docker", ["image", "rm", id]);
      row.rebuildSeconds = Math.round(s * 10) / 10;
      log(`rebuilt ${w.name} after a change to ${probeFile(w)} in ${s.toFixed(1)} s`);
    } finally {
      undo();
    }
  }
}

// --- 3. data stores and containers ---------------------------------------------------------------
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

async function memoryUsage(containers: string[]): Promise<Map<string, number>> {
  const out = await docker(["stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}", ...containers]);
  const units: Record<string, number> = { B: 1 / 1048576, KiB: 1 / 1024, MiB: 1, GiB: 1024 };
  const usage = new Map<string, number>();
  for (const line of out.split("\n")) {
    const m = /^(\S+) ([\d.]+)(B|KiB|MiB|GiB)/.exec(line);
    if (m) usage.set(m[1]!, Math.round(Number(m[2]) * units[m[3]!]!));
  }
  return usage;
}

// --- report ---------------------------------------------------------------------------------------
function table(rows: ImageRow[]): string {
  const f = (n: number | undefined) => (n === undefined ? "–" : n.toFixed(1));
  const lines = [
    "| image | size MB | build s | rebuild s | start→healthy s | start→ready s | memory MiB (limit) | stop s (grace) | exit code |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.workload} | ${r.sizeMB.toFixed(0)} | ${f(r.buildSeconds)} | ${f(r.rebuildSeconds)} | ${f(r.startToHealthySeconds)} | ${f(r.startToReadySeconds)} | ${r.memoryMiB ?? "–"} (${r.memoryLimitMiB}) | ${f(r.stopSeconds)} (${r.stopGraceSeconds}) | ${r.stopExitCode ?? "–"} |`,
    ),
  ];
  return lines.join("\n");
}

// --- main -------------------------------------------------------------------------------------------
async function main(): Promise<number> {
  const started = performance.now();
  const loadAtStart = Math.round(loadavg()[0]! * 10) / 10;
  const scope: RunScope = {
    isolation: `img${process.pid}x${randomBytes(2).toString("hex")}_`,
    portOffset: PORT_OFFSET,
    adminEmail: "admin@images-test.shopstream.local",
  };
  const tmp = mkdtempSync(join(tmpdir(), "shopstream-images-test-"));
  onCleanup("temp dir", () => rmSync(tmp, { recursive: true, force: true }));
  const logDir = join(REPO_ROOT, "test-artifacts/images");
  mkdirSync(logDir, { recursive: true });
  const failures: string[] = [];
  const modelGaps: ModelGap[] = [];

  await prepareEngine();
  const endpoints = localEndpoints();
  const unreachable = await preflight(endpoints);
  if (unreachable.length) {
    throw new Error(
      unreachable.map((f) => `${f.store} at ${f.where}: ${f.error} (start it: ${f.howToStart})`).join("\n"),
    );
  }
  const platform = imagesTestPlatform(scope);
  await sweepLeftovers(platform, endpoints);
  const only = process.env.IMAGES_ONLY?.split(",").map((s) => s.trim());
  const workloads = startOrder(builtWorkloads(platform.workloads)).filter(
    (w) => !only || only.includes(w.name),
  );
  const complete = workloads.length === builtWorkloads(platform.workloads).length;

  // Images.
  const builder = await pickBuilder();
  const engine = await docker(["version", "--format", "{{.Server.Version}}"]);
  log(
    `building ${workloads.length} images with ${builder.name} (engine ${engine}), ${BUILD_PARALLEL} at a time`,
  );
  if (COLD) {
    if (builder.name !== "buildkit")
      throw new Error("--cold prunes the BuildKit cache; the classic builder has none to prune");
    await exec(builder.command, ["builder", "prune", "-af"], { env: builder.env });
    for (const w of workloads) await exec("docker", ["image", "rm", `${IMAGE_REPO}/${w.name}:latest`]);
    log("pruned the BuildKit cache and this test's images: a cold build");
  }
  const context = join(tmp, "context");
  snapshotContext(
    REPO_ROOT,
    context,
    workloads.map((w) => (w.image.kind === "build" ? w.image.dockerfile : "")),
  );
  const buildStarted = performance.now();
  const rows = await buildAll(builder, workloads, context, logDir);
  const buildWallSeconds = seconds(performance.now() - buildStarted);
  for (const r of rows.values()) for (const p of r.problems) failures.push(`${r.image}: ${p}`);
  if (REBUILD) await timeRebuilds(builder, workloads, rows, context, logDir);

  // Secrets, databases, Redis keys, exchange and queues of this run.
  const apps = platform.workloads.filter((w) => w.local);
  const stateDir = join(tmp, "state");
  const secrets = writeLocalSecrets(apps, stateDir, {}, platform.secrets);
  onCleanup("secrets", () => secrets.remove());
  await provisionStores(platform, scope, secrets, endpoints);

  const resolver = hostResolver(scope, endpoints);
  const published = (w: Workload) => firstPort(w) + PORT_OFFSET;
  await assertPortsFree([
    edgePort(scope),
    ...workloads.map((w) => (isNodeService(w) ? resolver.port(w) : published(w))),
  ]);

  // Containers, in dependency order, each healthy and ready before the next starts.
  const containerOf = (w: Workload) => `shopstream-${scope.isolation}${w.name}`;
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
        network: isNodeService(w) ? { kind: "host" } : { kind: "publish", hostPort: published(w) },
        extraTmpfs: STRICT_MODEL ? [] : gaps.map((g) => ({ path: g.path, uid, gid })),
        healthIntervalSeconds: HEALTH_INTERVAL_S,
      }),
    );
    startedContainers.push(w);
    const row = rows.get(w.name)!;
    const health = w.health;
    await waitHealthy(name, ((health?.startPeriodSeconds ?? 20) + 30) * 1000);
    row.startToHealthySeconds = seconds(performance.now() - t0);
    const port = isNodeService(w) ? resolver.port(w) : published(w);
    await waitReady(`http://127.0.0.1:${port}${w.readinessPath ?? health?.path ?? "/"}`, 30_000);
    row.startToReadySeconds = seconds(performance.now() - t0);
    log(
      `${w.name}: healthy in ${row.startToHealthySeconds} s, ready in ${row.startToReadySeconds} s (127.0.0.1:${port})`,
    );
  }

  // What a shopper does.
  let edge: Edge | undefined;
  const journey: Record<string, unknown> = {};
  if (complete) {
    const gateway = platform.workloads.find((w) => w.name === "gateway")!;
    const analytics = platform.workloads.find((w) => w.name === "analytics")!;
    const storefront = workloads.find((w) => w.name === "storefront")!;
    const api = await apiJourney({
      gateway: `http://127.0.0.1:${resolver.port(gateway)}`,
      analytics: `http://127.0.0.1:${resolver.port(analytics)}`,
      admin: { email: scope.adminEmail, password: secrets.admin.password },
      runId: scope.isolation.replace(/_$/, ""),
    });
    journey.api = api;
    log(
      `API journey through the gateway container: order ${api.orderId} paid (${api.steps.map((s) => `${s.step} ${s.ms} ms`).join("; ")})`,
    );
    journey.storefront = await storefrontPage(`http://127.0.0.1:${published(storefront)}`);
    log(`storefront container: GET / is the SPA, ${(journey.storefront as { asset: string }).asset} loads`);
    edge = await startEdge(edgePort(scope), { api: resolver.port(gateway), site: published(storefront) });
    onCleanup("edge", () => edge?.close());
    if (existsSync(CHROMIUM)) {
      const orderId = await browserJourney({ edge: edge.url, chromium: CHROMIUM, artifacts: logDir });
      journey.browser = { orderId };
      log(`Chromium through the edge: signed up, bought, order ${orderId} shown paid`);
    } else {
      journey.browser = { skipped: `no Chromium at ${CHROMIUM}` };
      log(`no Chromium at ${CHROMIUM}: the browser purchase is skipped`);
    }
  } else {
    log(`IMAGES_ONLY=${only?.join(",")}: the journeys need every workload, skipped`);
  }

  const memory = await memoryUsage(startedContainers.map(containerOf));
  for (const w of startedContainers) rows.get(w.name)!.memoryMiB = memory.get(containerOf(w));

  // SIGTERM, last started first; each must exit 0 within its grace period.
  await edge?.close();
  for (const w of [...startedContainers].reverse()) {
    const name = containerOf(w);
    const t0 = performance.now();
    await docker(["stop", "-t", String(w.stopGracePeriodSeconds), name]);
    const row = rows.get(w.name)!;
    row.stopSeconds = seconds(performance.now() - t0);
    const state = await containerState(name);
    row.stopExitCode = state.ExitCode;
    if (state.ExitCode !== 0 || row.stopSeconds >= w.stopGracePeriodSeconds) {
      failures.push(
        `${w.name}: stopped with exit code ${state.ExitCode} after ${row.stopSeconds} s (grace ${w.stopGracePeriodSeconds} s)${state.OOMKilled ? ", OOM-killed" : ""}\n${await containerLogs(name, 15)}`,
      );
    }
  }

  const ordered = workloads.map((w) => rows.get(w.name)!);
  const report = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      engine,
      builder: builder.name,
      buildParallelism: BUILD_PARALLEL,
      // Other work on the machine slows builds and starts; the 1-minute load at start and end.
      loadAverage: { start: loadAtStart, end: Math.round(loadavg()[0]! * 10) / 10 },
    },
    conditions: {
      limits: "the model's memory and CPU limits, user, read-only root, tmpfs, no capabilities",
      healthCheckIntervalSeconds: HEALTH_INTERVAL_S,
      portOffset: PORT_OFFSET,
    },
    coldBuild: COLD,
    buildWallSeconds,
    totalSeconds: seconds(performance.now() - started),
    images: ordered,
    journey,
    modelGaps,
    failures,
  };
  mkdirSync(join(REPO_ROOT, "bench/results"), { recursive: true });
  writeFileSync(join(REPO_ROOT, "bench/results/images.json"), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(
    `\n${table(ordered)}\n\nbuild wall time ${buildWallSeconds} s (${COLD ? "cold" : "with the cache as found"}), whole run ${report.totalSeconds} s, load ${report.machine.loadAverage.start} → ${report.machine.loadAverage.end} on ${report.machine.cpus} CPUs; bench/results/images.json\n`,
  );
  for (const g of modelGaps)
    process.stdout.write(`model gap: ${g.workload} ${g.variable}=${g.path} has no volume or tmpfs\n`);
  if (failures.length) {
    process.stderr.write(`\nimages:test FAILED:\n${failures.map((f) => `  - ${f}`).join("\n")}\n`);
    return 1;
  }
  if (!complete) {
    process.stdout.write(
      "\nimages:test passed for the images selected by IMAGES_ONLY (not the whole platform)\n",
    );
    return 0;
  }
  process.stdout.write("\nimages:test passed\n");
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  process.stderr.write(`\nimages:test FAILED: ${(err as Error).stack ?? err}\n`);
} finally {
  await cleanup();
}
process.exit(code);
