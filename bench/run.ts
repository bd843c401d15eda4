/**
 * `npm run bench`: starts the local run (rate limits lifted, LOCAL_RATE_LIMITS=off) and measures,
 * in one run on this machine, a bare node:http baseline and the catalog reads through the gateway
 * twice, interleaved (baseline, list, by id, baseline, list, by id), so each catalog load is
 * compared with a baseline measured next to it; then checkouts with 50 concurrent buyers, the peak
 * RSS of every service and the seconds from start to ready. Every load counts its non-2xx answers
 * by status; any 5xx fails the run (exit 1). See bench/README.md.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import autocannon from "autocannon";
import { REPO_ROOT, startLocalRun } from "../infra/src/local/run.js";

const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const CHECKOUT_BUYERS = 50;

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

async function json(url: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.body) headers.set("content-type", "application/json");
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  const res = await fetch(url, { ...init, headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** 50 buyers, each in a loop: put one item in the cart, check out with a fresh Idempotency-Key. */
async function checkouts(
  api: string,
  adminToken: string,
): Promise<
  Row & { oversold: boolean; stockUsed: number; unitsOrdered: number; errorsByStatus: Record<string, number> }
> {
  const initialStock = 1_000_000;
  const product = await json(`${api}/products`, {
    method: "POST",
    token: adminToken,
    body: JSON.stringify({
      sku: `BENCH-${randomUUID().slice(0, 8)}`,
      name: "Benchmark widget",
      description: "A product only the benchmark buys",
      category: "benchmark",
      priceCents: 100,
      currency: "EUR",
      stock: initialStock,
    }),
  });
  if (product.status !== 201) throw new Error(`could not create the bench product: ${product.status}`);
  const productId: string = product.body.id;
  const buyers = await Promise.all(
    Array.from({ length: CHECKOUT_BUYERS }, async (_, i) => {
      const credentials = {
        email: `bench-${i}-${randomUUID()}@shopstream.test`,
        password: "bench-password-1",
      };
      const r = await json(`${api}/auth/register`, {
        method: "POST",
        body: JSON.stringify({ ...credentials, name: "Bench" }),
      });
      if (r.status !== 202)
        throw new Error(`could not register a buyer: ${r.status} ${JSON.stringify(r.body)}`);
      // Registration answers alike for a new and a taken address; the session comes from signing in.
      const signedIn = await json(`${api}/auth/login`, { method: "POST", body: JSON.stringify(credentials) });
      if (signedIn.status !== 200)
        throw new Error(`could not sign a buyer in: ${signedIn.status} ${JSON.stringify(signedIn.body)}`);
      return signedIn.body.accessToken as string;
    }),
  );
  const latencies: number[] = [];
  const errorsByStatus: Record<string, number> = {};
  let errors = 0;
  let orders = 0;
  const deadline = Date.now() + DURATION_S * 1000;
  const started = Date.now();
  await Promise.all(
    buyers.map(async (token) => {
      while (Date.now() < deadline) {
        const t0 = performance.now();
        const add = await json(`${api}/cart/items`, {
          method: "POST",
          token,
          body: JSON.stringify({ productId, quantity: 1 }),
        });
        const order = await json(`${api}/orders`, {
          method: "POST",
          token,
          headers: { "idempotency-key": randomUUID() },
          body: JSON.stringify({ paymentToken: "tok_visa" }),
        });
        latencies.push(performance.now() - t0);
        for (const r of [add, order]) {
          if (r.status >= 400) {
            errors++;
            errorsByStatus[r.status] = (errorsByStatus[r.status] ?? 0) + 1;
          }
        }
        if (order.status === 201) orders++;
      }
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  // Read the stock once the platform has caught up (the gateway may be shedding load briefly).
  let after = await json(`${api}/products/${productId}`);
  for (let i = 0; i < 50 && after.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 200));
    after = await json(`${api}/products/${productId}`);
  }
  if (after.status !== 200) throw new Error(`could not read the bench product's stock: ${after.status}`);
  const stockUsed = initialStock - Number(after.body.stock);
  // A buyer's next cart add can land before order.created has emptied the cart, so an order may
  // hold more than one unit: compare the stock with the units in every order of this product.
  let unitsOrdered = 0;
  for (let page = 1; ; page++) {
    const list = await json(`${api}/orders?limit=100&page=${page}`, { token: adminToken });
    const items = (list.body?.items ?? []) as {
      status: string;
      items: { productId: string; quantity: number }[];
    }[];
    for (const o of items) {
      if (o.status === "payment_failed" || o.status === "cancelled") continue;
      for (const line of o.items) if (line.productId === productId) unitsOrdered += line.quantity;
    }
    if (items.length < 100) break;
  }
  latencies.sort((a, b) => a - b);
  return {
    name: `checkout (cart add + POST /api/orders), ${CHECKOUT_BUYERS} buyers`,
    requestsPerSecond: Math.round((orders / seconds) * 10) / 10,
    p50Ms: Math.round(percentile(latencies, 50)),
    p99Ms: Math.round(percentile(latencies, 99)),
    errors,
    requests: orders,
    non2xx: Object.fromEntries(
      Object.entries(errorsByStatus).map(([status, n]) => [`${status[0]}xx:${status}`, n]),
    ),
    oversold: Number(after.body.stock) < 0 || stockUsed !== unitsOrdered,
    stockUsed,
    unitsOrdered,
    errorsByStatus,
  };
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
  const logDir = mkdtempSync(join(tmpdir(), "shopstream-bench-logs-"));
  const run = await startLocalRun({
    env: {
      ...process.env,
      LOCAL_PORT_OFFSET: process.env.LOCAL_PORT_OFFSET ?? "2100",
      LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
      // The documented switch for load tests: one address, no 429s.
      LOCAL_RATE_LIMITS: "off",
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
    for (const round of [1, 2]) {
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
      }
    }
    baselineServer.stop();
    const checkout = await checkouts(api, admin.body.accessToken);
    checkout.ratioToBaseline = ratio(checkout);
    rows.push(checkout);

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
        ordersCreated: checkout.requests,
        errorsByStatus: checkout.errorsByStatus,
      },
      idleRssMiB: idleRss,
      startPeakRssMiB: startPeak,
      peakRssMiB: rss,
      totalPeakRssMiB: totalRss,
      pssAfterMiB: pss,
      readySeconds: Math.round(run.readySeconds * 10) / 10,
    };

    console.log("\n| load | req/s | p50 ms | p99 ms | non-2xx | × baseline |\n|---|---:|---:|---:|---|---:|");
    for (const r of rows) {
      const bad = Object.entries(r.non2xx).map(([k, n]) => `${k}: ${n}`);
      console.log(
        `| ${r.name} | ${r.requestsPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${bad.join(", ") || "0"} | ${r.ratioToBaseline ?? 1} |`,
      );
    }
    console.log(
      `\nOversold: ${checkout.oversold ? "YES" : "no"} (orders ${checkout.requests}, units ordered ${checkout.unitsOrdered}, stock used ${checkout.stockUsed}; errors by status ${JSON.stringify(checkout.errorsByStatus)})`,
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
  } finally {
    await run.stop();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
