/**
 * Phase 2 of `npm run images:test`: builds every image the model builds, a few at a time, checks
 * what each holds (hygiene.ts) and times a rebuild after one line of its sources changed.
 */
import { join } from "node:path";
import { REPO_ROOT, type Workload } from "../../infra/src/model/index.js";
import { changeOneSource, snapshotContext } from "./context.js";
import { type Builder, buildImage, docker, exec, pickBuilder } from "./docker.js";
import { checkNodeImage, checkNonRoot, checkStaticImage, readLockfile } from "./hygiene.js";
import { BUILD_PARALLEL, COLD, IMAGE_REPO, type ImageRow, LABEL, log, REBUILD, seconds } from "./run.js";

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

export interface BuiltImages {
  builder: Builder;
  /** The engine's version. */
  engine: string;
  /** Each workload's row, by workload name. */
  rows: Map<string, ImageRow>;
  buildWallSeconds: number;
}

/** Builds the workloads' images in a snapshot of the repository under `tmp`; adds each image's problems to `failures`. */
export async function buildImages(
  workloads: Workload[],
  tmp: string,
  logDir: string,
  failures: string[],
): Promise<BuiltImages> {
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
  return { builder, engine, rows, buildWallSeconds };
}
