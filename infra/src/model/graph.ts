/** Finding workloads in a platform and ordering them by their dependencies. */
import type { Platform, Workload } from "./types.js";

export function findWorkload(platform: Platform, name: string): Workload {
  const w = platform.workloads.find((x) => x.name === name);
  if (!w) throw new Error(`unknown workload ${name}`);
  return w;
}

/** Workloads ordered so that each comes after everything it depends on. */
export function startOrder(workloads: Workload[]): Workload[] {
  const byName = new Map(workloads.map((w) => [w.name, w]));
  const done = new Set<string>();
  const out: Workload[] = [];
  const visit = (w: Workload, path: string[]) => {
    if (done.has(w.name)) return;
    if (path.includes(w.name)) throw new Error(`dependency cycle: ${[...path, w.name].join(" -> ")}`);
    for (const d of w.dependsOn) {
      const dep = byName.get(d);
      if (dep) visit(dep, [...path, w.name]);
    }
    done.add(w.name);
    out.push(w);
  };
  for (const w of workloads) visit(w, []);
  return out;
}
