/**
 * `node --import tsx bench/profile.ts <service> [url path]`: loads one endpoint through the
 * gateway (or, with PROFILE_DIRECT=1, the service itself) for 8 s at 50 connections with the
 * named service under `--cpu-prof`, and prints its hottest functions and its peak RSS.
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { startLocalRun } from "../infra/src/local/run.js";

const service = process.argv[2] ?? "product";
const dir = mkdtempSync(join(tmpdir(), "shopstream-prof-"));
const run = await startLocalRun({
  env: {
    ...process.env,
    LOCAL_PORT_OFFSET: process.env.LOCAL_PORT_OFFSET ?? "2200",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
    LOCAL_RATE_LIMITS: "off",
  },
  stateDir: mkdtempSync(join(tmpdir(), "shopstream-prof-state-")),
  isolation: `prof${process.pid}_`,
  logDir: mkdtempSync(join(tmpdir(), "shopstream-prof-logs-")),
  nodeArgs: { [service]: ["--cpu-prof", `--cpu-prof-dir=${dir}`] },
  overrides: {
    gateway: process.env.GATEWAY_NODE_OPTIONS ? { NODE_OPTIONS: process.env.GATEWAY_NODE_OPTIONS } : {},
  },
});
const list = (await (await fetch(`${run.url}/api/products?limit=1`)).json()) as { items: { id: string }[] };
const path = process.argv[3] ?? `/api/products/${list.items[0]!.id}`;
// PROFILE_DIRECT=1 loads the service itself on its own port (the path without `/api`).
const workload = run.platform.workloads.find((w) => w.name === service);
const direct = process.env.PROFILE_DIRECT === "1" && workload;
const url = direct
  ? `http://127.0.0.1:${workload.ports[0]!.port + Number(process.env.LOCAL_PORT_OFFSET ?? 2200)}${path.replace(/^\/api/, "")}`
  : `${run.url}${path}`;
const result = await autocannon({ url, connections: 50, duration: 8 });
const pid = run.processes.find((p) => p.name === service)?.child.pid;
const peak = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
console.log(
  `${path}: ${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms, ` +
    `non-2xx ${result.non2xx}, ${service} peak RSS ${Math.round(Number(peak) / 1024)} MiB`,
);
await run.stop();

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
if (!file) throw new Error("no profile written");
const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nodes: Node[] };
const total = profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0);
const byFrame = new Map<string, number>();
for (const n of profile.nodes) {
  const where = n.callFrame.url
    .replace(/^.*node_modules\//, "")
    .replace(/^file:\/\/.*\/services\//, "services/");
  const key = `${n.callFrame.functionName || "(anonymous)"} ${where}:${n.callFrame.lineNumber}`;
  byFrame.set(key, (byFrame.get(key) ?? 0) + (n.hitCount ?? 0));
}
const byPackage = new Map<string, number>();
for (const n of profile.nodes) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(n.callFrame.url);
  const key =
    m?.[1] ??
    (n.callFrame.url ? (n.callFrame.url.includes("/services/") ? "ours" : "node") : n.callFrame.functionName);
  byPackage.set(key, (byPackage.get(key) ?? 0) + (n.hitCount ?? 0));
}
const top = (m: Map<string, number>, k: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([name, hits]) => `${((100 * hits) / total).toFixed(1).padStart(5)}%  ${name}`);
console.log(`\nself time by package (${service}):\n${top(byPackage, 15).join("\n")}`);
console.log(`\nhottest functions:\n${top(byFrame, 25).join("\n")}`);
