/**
 * Phase 5 of `npm run images:test`: each container's memory after the journeys, then `docker stop`
 * (SIGTERM), last started first; each must exit 0 within its grace period.
 */
import type { Workload } from "../../infra/src/model/index.js";
import { containerLogs, containerState, docker } from "./docker.js";
import type { RunScope } from "./platform.js";
import { type ImageRow, seconds } from "./run.js";
import { containerName } from "./start.js";

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

/** Records each started container's memory use in its row. */
export async function recordMemory(
  startedContainers: Workload[],
  scope: RunScope,
  rows: Map<string, ImageRow>,
): Promise<void> {
  const containerOf = (w: Workload) => containerName(scope, w);
  const memory = await memoryUsage(startedContainers.map(containerOf));
  for (const w of startedContainers) rows.get(w.name)!.memoryMiB = memory.get(containerOf(w));
}

/** Stops the started containers, last first, recording how; adds each that stopped badly to `failures`. */
export async function stopContainers(
  startedContainers: Workload[],
  scope: RunScope,
  rows: Map<string, ImageRow>,
  failures: string[],
): Promise<void> {
  const containerOf = (w: Workload) => containerName(scope, w);
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
}
