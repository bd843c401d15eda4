/**
 * `npm run bench`: starts the local run (rate limits lifted, LOCAL_RATE_LIMITS=off) and measures,
 * in one run on this machine, a bare node:http baseline and the catalog reads through the gateway
 * twice, interleaved (baseline, list, by id, baseline, list, by id), so each catalog load is
 * compared with a baseline measured next to it; then checkouts with 50 concurrent buyers, the peak
 * RSS of every service and the seconds from start to ready. Every load counts its non-2xx answers
 * by status; any 5xx fails the run (exit 1). See bench/README.md.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import autocannon from "autocannon";
import { startLocalRun } from "../infra/src/local/run.js";
import { REPO_ROOT } from "../infra/src/model/index.js";
import { checkouts, json, signInBuyers } from "./checkout.js";
import { benchTracing } from "./tracing.js";

const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const CHECKOUT_BUYERS = 50;
/** `BENCH_LOADS=checkout` runs the checkout load alone (while working on checkout). */
const CATALOG_LOADS = (process.env.BENCH_LOADS ?? "all") !== "checkout";

interface Row {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Transport errors, timeouts and non-2xx answers together. */
  errors: number;
  requests: number;
  /** Non-2xx answers by status class (autocannon counts classes), plus transport errors. */
  non2xx: Record<string, number>;
  ratioToBaseline?: number;
}

async function load(name: string, url: string, headers: Record<string, string> = {}): Promise<Row> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, headers });
  const non2xx: Record<string, number> = {};
  for (const klass of ["1xx", "3xx", "4xx", "5xx"] as const) {
    if (result[klass] > 0) non2xx[klass] = result[klass];
  }
  if (result.errors > 0) non2xx.transport = result.errors;
  if (result.timeouts > 0) non2xx.timeout = result.timeouts;
  return {
    name,
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    requests: result.requests.total,
    non2xx,
  };
}

/** The bare node:http server, running beside the platform for the whole bench. */
async function startBaseline(): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "bench/baseline.ts")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<string>((resolve) =>
    createInterface({ input: child.stdout! }).once("line", resolve),
  );
  return { url: `http://127.0.0.1:${port}/`, stop: () => child.kill("SIGTERM") };
}

/** VmHWM (peak) or VmRSS (now) of a process, in MiB. */
function rssOf(pid: number | undefined, field: "VmHWM" | "VmRSS" = "VmHWM"): number {
  if (!pid) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Math.round(Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}
const peakRss = (pid: number | undefined) => rssOf(pid, "VmHWM");

/**
 * Proportional set size now, in MiB: shared pages (the node binary's, about 40 MiB that RSS
 * counts in full for every process) divided among the processes that map them.
 */
function pssOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    return Math.round(Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

async function main() {
  const baselineServer = await startBaseline();
  const tracing = await benchTracing();
  console.log(`Tracing: ${tracing.mode} (BENCH_TRACING)`);
  const logDir = mkdtempSync(join(tmpdir(), "shopstream-bench-logs-"));
  const run = await startLocalRun({
    env: {
      ...process.env,
      LOCAL_PORT_OFFSET: process.env.LOCAL_PORT_OFFSET ?? "2100",
      LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
      // The documented switch for load tests: one address, no 429s.
      LOCAL_RATE_LIMITS: "off",
      ...tracing.env,
    },
    stateDir: mkdtempSync(join(tmpdir(), "shopstream-bench-")),
    isolation: `bench${process.pid}_`,
    overrides: {
      // 50 buyers sign in at once from this one address: more than a real address would.
      auth: { LOGIN_MAX_FAILURES_PER_ADDRESS: "100000" },
    },
    // Logged at info like a real run, but into files: the load generator shares this process.
    logDir,
  });
  console.log(`Service logs: ${logDir}`);
  // What each service holds once ready, before any load.
  const idleRss = Object.fromEntries(run.processes.map((p) => [p.name, rssOf(p.child.pid, "VmRSS")]));
  // The peak so far: start-up work (migrations, product's demo seed) before any load.
  const startPeak = Object.fromEntries(run.processes.map((p) => [p.name, rssOf(p.child.pid, "VmHWM")]));
  try {
    const api = `${run.url}/api`;
    const admin = await json(`${api}/auth/login`, {
      method: "POST",
      body: JSON.stringify({ email: run.adminEmail, password: run.secrets.admin.password }),
    });
    if (admin.status !== 200) throw new Error(`admin login failed: ${admin.status}`);
    const list = await json(`${api}/products?limit=20`);
    const firstId: string = list.body.items[0].id;
    const rows: Row[] = [];
    let base: Row | undefined;
    const ratio = (row: Row) =>
      Math.round((row.requestsPerSecond / (base?.requestsPerSecond || 1)) * 1000) / 1000;
    for (const round of CATALOG_LOADS ? [1, 2] : []) {
      base = await load(`node:http hello world (baseline), round ${round}`, baselineServer.url);
      rows.push(base);
      for (const [name, url] of [
        [`GET /api/products?limit=20 (gateway → product), round ${round}`, `${api}/products?limit=20`],
        [`GET /api/products/:id (gateway → product), round ${round}`, `${api}/products/${firstId}`],
      ] as const) {
        const row = await load(name, url);
        // Compared with the baseline measured just before it, in the same round.
        row.ratioToBaseline = ratio(row);
        rows.push(row);
        // As measured, so a later failure (checkouts on a loaded machine) does not lose it.
        console.log(
          `${row.name}: ${row.requestsPerSecond} req/s, p99 ${row.p99Ms} ms, × baseline ${row.ratioToBaseline}`,
        );
      }
    }
    baselineServer.stop();
    const buyers = await signInBuyers(api, CHECKOUT_BUYERS);
    const checkout = await checkouts(api, admin.body.accessToken, buyers, DURATION_S);
    rows.push({
      name: `checkout (cart add + POST /api/orders), ${CHECKOUT_BUYERS} buyers`,
      requestsPerSecond: checkout.ordersPerSecond,
      p50Ms: checkout.p50Ms,
      p99Ms: checkout.p99Ms,
      errors: checkout.errors,
      requests: checkout.orders,
      non2xx: Object.fromEntries(
        Object.entries(checkout.errorsByStatus).map(([status, n]) => [`${status[0]}xx:${status}`, n]),
      ),
    });

    const rss = Object.fromEntries(run.processes.map((p) => [p.name, peakRss(p.child.pid)]));
    const pss = Object.fromEntries(run.processes.map((p) => [p.name, pssOf(p.child.pid)]));
    const totalRss = Object.values(rss).reduce((a, b) => a + b, 0);
    const report = {
      date: new Date().toISOString(),
      machine: { node: process.version, connections: CONNECTIONS, durationSeconds: DURATION_S },
      rows,
      checkout: {
        oversold: checkout.oversold,
        stockUsed: checkout.stockUsed,
        unitsOrdered: checkout.unitsOrdered,
        ordersCreated: checkout.orders,
        errorsByStatus: checkout.errorsByStatus,
      },
      idleRssMiB: idleRss,
      startPeakRssMiB: startPeak,
      peakRssMiB: rss,
      totalPeakRssMiB: totalRss,
      pssAfterMiB: pss,
      readySeconds: Math.round(run.readySeconds * 10) / 10,
      tracing: { mode: tracing.mode, ...tracing.received() },
    };

    console.log("\n| load | req/s | p50 ms | p99 ms | non-2xx | × baseline |\n|---|---:|---:|---:|---|---:|");
    for (const r of rows) {
      const bad = Object.entries(r.non2xx).map(([k, n]) => `${k}: ${n}`);
      console.log(
        `| ${r.name} | ${r.requestsPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${bad.join(", ") || "0"} | ${r.ratioToBaseline ?? 1} |`,
      );
    }
    console.log(
      `\nOversold: ${checkout.oversold ? "YES" : "no"} (orders ${checkout.orders}, units ordered ${checkout.unitsOrdered}, stock used ${checkout.stockUsed}; errors by status ${JSON.stringify(checkout.errorsByStatus)})`,
    );
    console.log(
      "\n| service | RSS when ready MiB | peak until ready MiB | peak RSS MiB | PSS after MiB |\n|---|---:|---:|---:|---:|",
    );
    for (const [name, mib] of Object.entries(rss)) {
      console.log(`| ${name} | ${idleRss[name]} | ${startPeak[name]} | ${mib} | ${pss[name]} |`);
    }
    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    console.log(
      `| **all services** | **${sum(idleRss)}** | **${sum(startPeak)}** | **${totalRss}** | **${sum(pss)}** |`,
    );
    console.log(`\nStart to ready: ${report.readySeconds} s`);
    console.log(`Tracing: ${JSON.stringify(report.tracing)}`);
    const outDir = join(REPO_ROOT, "bench/results");
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nWrote bench/results/latest.json`);
    const failed = rows.filter(
      (r) => (r.non2xx["5xx"] ?? 0) > 0 || Object.keys(r.non2xx).some((k) => k.startsWith("5xx")),
    );
    if (failed.length) {
      console.error(`\nFAILED: 5xx answers in ${failed.map((r) => r.name).join("; ")}`);
      process.exitCode = 1;
    }
    if (checkout.oversold) {
      console.error("\nFAILED: the stock used is not the units ordered");
      process.exitCode = 1;
    }
  } finally {
    await run.stop();
    tracing.stop();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
