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
 * Prints a table and writes bench/results/images.json (report.ts).
 *
 * Options: --cold (prune the BuildKit cache first, to measure a cold build), --no-rebuild.
 * Env: IMAGES_PORT_OFFSET (400), IMAGES_BUILD_PARALLEL (2), IMAGES_BUILDER (buildkit|classic),
 * IMAGES_ONLY (comma-separated workloads; the journeys need them all), CHROMIUM_PATH,
 * IMAGES_STRICT_MODEL=1 (no stand-in tmpfs where the model lacks a writable folder).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { localEndpoints } from "../../infra/src/local/endpoints.js";
import { preflight } from "../../infra/src/local/preflight.js";
import { REPO_ROOT, startOrder } from "../../infra/src/model/index.js";
import { buildImages } from "./build.js";
import type { Edge } from "./edge.js";
import { prepareEngine, sweepLeftovers } from "./engine.js";
import {
  builtWorkloads,
  hostResolver,
  imagesTestPlatform,
  type ModelGap,
  type RunScope,
} from "./platform.js";
import { writeReport } from "./report.js";
import { cleanUpOnSignals, cleanup, log, onCleanup, PORT_OFFSET } from "./run.js";
import { shopperJourneys } from "./shopper.js";
import { provisionRun, startContainers } from "./start.js";
import { recordMemory, stopContainers } from "./stop.js";

cleanUpOnSignals();

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

  // 1. Engine and base images; what earlier runs left.
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

  // 2. Images.
  const built = await buildImages(workloads, tmp, logDir, failures);

  // 3. Secrets, databases, Redis keys, exchange and queues of this run; then the containers.
  const secrets = await provisionRun(platform, scope, endpoints, tmp);
  const resolver = hostResolver(scope, endpoints);
  const startedContainers = await startContainers({
    platform,
    workloads,
    scope,
    resolver,
    secrets,
    rows: built.rows,
    tmp,
    modelGaps,
  });

  // 4. What a shopper does.
  let edge: Edge | undefined;
  let journey: Record<string, unknown> = {};
  if (complete) {
    ({ journey, edge } = await shopperJourneys({ platform, workloads, scope, resolver, secrets, logDir }));
  } else {
    log(`IMAGES_ONLY=${only?.join(",")}: the journeys need every workload, skipped`);
  }

  // 5. Memory, then SIGTERM, last started first; each must exit 0 within its grace period.
  await recordMemory(startedContainers, scope, built.rows);
  await edge?.close();
  await stopContainers(startedContainers, scope, built.rows, failures);

  return writeReport({ started, loadAtStart, workloads, built, journey, modelGaps, failures, complete });
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
