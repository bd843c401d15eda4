/**
 * `node --import tsx bench/profile.ts <service[,service...]> [url path | checkout]`: loads one
 * endpoint through the gateway (or, with PROFILE_DIRECT=1, the service itself) for 8 s at 50
 * connections, or with `checkout` runs the bench's checkout load (50 buyers, cart add + order),
 * with the named services under `--cpu-prof`, and prints each one's self time by package, its
 * hottest functions and its peak RSS. With several services, the split of CPU time between them
 * comes first: where a checkout's time goes across the platform.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { startLocalRun } from "../infra/src/local/run.js";
import { checkouts, json, signInBuyers } from "./checkout.js";

const services = (process.argv[2] ?? "product").split(",");
/** PROFILE_CPU=0: no `--cpu-prof` (its overhead), only each service's CPU seconds during the load. */
const PROFILE = process.env.PROFILE_CPU !== "0";
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 8);
/** The data stores' server processes, by command name. */
const STORES = ["mariadbd", "redis-server", "beam.smp"];
const dir = mkdtempSync(join(tmpdir(), "shopstream-prof-"));
const dirOf = (service: string) => join(dir, service);
for (const s of services) mkdirSync(dirOf(s));
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
  nodeArgs: PROFILE
    ? Object.fromEntries(services.map((s) => [s, ["--cpu-prof", `--cpu-prof-dir=${dirOf(s)}`]]))
    : {},
  overrides: {
    gateway: process.env.GATEWAY_NODE_OPTIONS ? { NODE_OPTIONS: process.env.GATEWAY_NODE_OPTIONS } : {},
    auth: { LOGIN_MAX_FAILURES_PER_ADDRESS: "100000" },
  },
});
const cpuStart = new Map(services.map((s) => [s, cpuSeconds(pidOf(s))]));
let cpuUsed = new Map<string, number>();
if (process.argv[3] === "checkout") {
  const api = `${run.url}/api`;
  const admin = await json(`${api}/auth/login`, {
    method: "POST",
    body: JSON.stringify({ email: run.adminEmail, password: run.secrets.admin.password }),
  });
  const buyers = await signInBuyers(api, 50);
  const before = new Map(services.map((s) => [s, cpuSeconds(pidOf(s))]));
  const storesBefore = new Map(STORES.map((s) => [s, storeCpu(s)]));
  const t0 = Date.now();
  const ownCpu = process.cpuUsage();
  const r = await checkouts(api, admin.body.accessToken, buyers, SECONDS);
  const wall = (Date.now() - t0) / 1000;
  cpuUsed = new Map(services.map((s) => [s, cpuSeconds(pidOf(s)) - before.get(s)!]));
  const own = process.cpuUsage(ownCpu);
  const perOrder = (seconds: number) =>
    `${((1000 * seconds) / Math.max(1, r.orders)).toFixed(1)} ms per order`;
  console.log(
    `checkout: ${r.ordersPerSecond} orders/s (${r.orders}), p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ` +
      `errors ${JSON.stringify(r.errorsByStatus)}, oversold ${r.oversold}; ${wall.toFixed(1)} s incl. the stock check`,
  );
  const ownSeconds = (own.user + own.system) / 1e6;
  console.log(`load generator (this process): ${ownSeconds.toFixed(2)} s of CPU, ${perOrder(ownSeconds)}`);
  // The stores are shared with everything else on the machine: an upper bound for this load.
  for (const s of STORES) {
    const used = storeCpu(s) - storesBefore.get(s)!;
    console.log(`${s} (whole server, shared): ${used.toFixed(2)} s of CPU, ${perOrder(used)}`);
  }
  const total = [...cpuUsed.values()].reduce((a, b) => a + b, 0);
  console.log(`services together: ${total.toFixed(2)} s of CPU, ${perOrder(total)}`);
} else {
  const list = (await (await fetch(`${run.url}/api/products?limit=1`)).json()) as { items: { id: string }[] };
  const path = process.argv[3] ?? `/api/products/${list.items[0]!.id}`;
  // PROFILE_DIRECT=1 loads the service itself on its own port (the path without `/api`).
  const workload = run.platform.workloads.find((w) => w.name === services[0]);
  const direct = process.env.PROFILE_DIRECT === "1" && workload;
  const url = direct
    ? `http://127.0.0.1:${workload.ports[0]!.port + Number(process.env.LOCAL_PORT_OFFSET ?? 2200)}${path.replace(/^\/api/, "")}`
    : `${run.url}${path}`;
  const result = await autocannon({ url, connections: 50, duration: SECONDS });
  console.log(
    `${path}: ${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}`,
  );
  cpuUsed = new Map(services.map((s) => [s, cpuSeconds(pidOf(s)) - cpuStart.get(s)!]));
}
for (const s of services) {
  const peak = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pidOf(s)}/status`, "utf8"))?.[1];
  console.log(
    `${s}: ${cpuUsed.get(s)!.toFixed(2)} s of CPU during the load, peak RSS ${Math.round(Number(peak) / 1024)} MiB`,
  );
}
await run.stop();

function storeCpu(command: string): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === command) total += cpuSeconds(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

function pidOf(service: string): number {
  const pid = run.processes.find((p) => p.name === service)?.child.pid;
  if (!pid) throw new Error(`no process for ${service}`);
  return pid;
}

/** User + system CPU seconds a process has used so far (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
if (PROFILE) for (const service of services) report(service);

function report(service: string) {
  const file = readdirSync(dirOf(service)).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no profile written for ${service}`);
  const profile = JSON.parse(readFileSync(join(dirOf(service), file), "utf8")) as { nodes: Node[] };
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
      (n.callFrame.url
        ? n.callFrame.url.includes("/services/")
          ? "ours"
          : "node"
        : n.callFrame.functionName);
    byPackage.set(key, (byPackage.get(key) ?? 0) + (n.hitCount ?? 0));
  }
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, hits]) => `${((100 * hits) / total).toFixed(1).padStart(5)}%  ${name}`);
  console.log(`\nself time by package (${service}):\n${top(byPackage, 15).join("\n")}`);
  console.log(`\nhottest functions:\n${top(byFrame, 25).join("\n")}`);
}
