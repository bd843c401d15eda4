/**
 * The end of `npm run images:test`: bench/results/images.json, the table, and the verdict.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, type Workload } from "../../infra/src/model/index.js";
import type { BuiltImages } from "./build.js";
import type { ModelGap } from "./platform.js";
import { BUILD_PARALLEL, COLD, HEALTH_INTERVAL_S, type ImageRow, PORT_OFFSET, seconds } from "./run.js";

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

/** Writes the report and prints the table; returns the exit code. */
export function writeReport(run: {
  /** `performance.now()` at the start of the run. */
  started: number;
  /** The 1-minute load average at the start of the run. */
  loadAtStart: number;
  workloads: Workload[];
  built: BuiltImages;
  journey: Record<string, unknown>;
  modelGaps: ModelGap[];
  failures: string[];
  /** Whether every workload ran (no IMAGES_ONLY). */
  complete: boolean;
}): number {
  const { started, loadAtStart, workloads, journey, modelGaps, failures, complete } = run;
  const { engine, builder, rows, buildWallSeconds } = run.built;
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
