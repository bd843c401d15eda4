import { mkdtempSync, rmSync } from "node:fs";
import { type Socket, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authService } from "../../services/auth/src/service.js";
import { gatewayService } from "../../services/gateway/src/service.js";
import { productService } from "../../services/product/src/service.js";
import { api, isProblem } from "../support/http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { startRedisRelay } from "./stubs.js";

// The gateway in front of the real auth and product services. What clients do (leave with
// requests in flight, stall their bodies) must never change what other users get; what the
// services do (refuse connections) must still open the circuit.

const UPSTREAM_TIMEOUT_MS = 1000;
const BODY_IDLE_TIMEOUT_MS = 400;

/** Waits (polling) until `check` holds; the bound is only there so a broken build fails. */
async function until<T>(what: string, probe: () => Promise<T> | T, check: (v: T) => boolean, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}: ${JSON.stringify(value)}`);
    await sleep(20);
  }
}

/** Opens a raw connection and writes `request` on it. */
function rawRequest(url: string, request: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(port), hostname, () => {
      socket.write(request);
      resolve(socket);
    });
    socket.on("error", reject);
  });
}

/** Resolves with the status of the first answer on `socket`. */
function statusOf(socket: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = "";
    socket.on("data", (chunk: Buffer) => {
      seen += chunk.toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})/.exec(seen);
      if (m) resolve(Number(m[1]));
    });
    socket.on("close", () => reject(new Error(`closed without an answer: ${JSON.stringify(seen)}`)));
  });
}

describe("gateway: clients cannot open the circuit for everyone", () => {
  let platform: TestPlatform;
  let relay: Awaited<ReturnType<typeof startRedisRelay>>;
  let imagesDir = "";
  let gw = "";
  let productId = "";

  /** The gateway's upstream outcome counters for one upstream, by outcome. */
  const outcomes = async (upstream: string): Promise<Record<string, number>> => {
    const text = (await api(`${gw}/metrics`)).text;
    const counts: Record<string, number> = {};
    for (const line of text.split("\n")) {
      if (!line.startsWith("shopstream_gateway_upstream_requests_total{")) continue;
      if (!line.includes(`upstream="${upstream}"`)) continue;
      const outcome = /outcome="([a-z_]+)"/.exec(line)?.[1];
      if (outcome) counts[outcome] = Number(line.split(" ").pop());
    }
    return counts;
  };
  const circuitOpen = async (upstream: string) =>
    new RegExp(`shopstream_gateway_circuit_open\\{[^}]*upstream="${upstream}"[^}]*\\} 1`).test(
      (await api(`${gw}/metrics`)).text,
    );
  const connections = () =>
    new Promise<number>((resolve, reject) =>
      platform.services.gateway!.server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
    );

  beforeAll(async () => {
    relay = await startRedisRelay();
    imagesDir = mkdtempSync(join(tmpdir(), "shopstream-client-faults-"));
    platform = await startTestPlatform({
      label: "gateway_client_faults",
      services: { auth: authService, product: productService, gateway: gatewayService },
      env: {
        product: { IMAGES_DIR: imagesDir },
        gateway: {
          REDIS_URL: relay.url,
          UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
          BODY_IDLE_TIMEOUT_MS: String(BODY_IDLE_TIMEOUT_MS),
          CIRCUIT_FAILURE_THRESHOLD: "3",
          CIRCUIT_OPEN_MS: "1500",
          RATE_LIMIT_PER_MINUTE: "100000",
          AUTH_RATE_LIMIT_PER_MINUTE: "1000",
          // Long enough that a held lookup is still pending when its client leaves.
          RATE_LIMIT_TIMEOUT_MS: "10000",
        },
      },
    });
    gw = platform.url("gateway");
    const list = await api(`${gw}/api/products?limit=1`);
    expect(list.status).toBe(200);
    productId = list.body.items[0].id;
  });
  afterAll(async () => {
    relay?.release();
    await platform?.stop();
    rmSync(imagesDir, { recursive: true, force: true });
  });

  it("lets clients that leave while their request waits go without touching the circuit", async () => {
    const before = await outcomes("product");
    const idle = await connections();
    // Eight catalog reads stop at the rate-limit lookup, which waits in the relay...
    relay.hold();
    const sockets = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        rawRequest(gw, `GET /api/products?limit=20&page=${i + 2} HTTP/1.1\r\nHost: shop\r\n\r\n`),
      ),
    );
    await until(
      "8 held rate-limit lookups",
      () => relay.heldCount("ratelimit:api:"),
      (n) => n >= 8,
    );
    // ...and their clients go away (as a load generator does when it stops) before it answers.
    for (const s of sockets) s.destroy();
    await until("the gateway to see them go", connections, (n) => n <= idle);
    relay.release();

    const settled = await until(
      "the 8 abandoned requests to be settled",
      () => outcomes("product"),
      (o) => (o.client_gone ?? 0) + (o.timeout ?? 0) - (before.client_gone ?? 0) - (before.timeout ?? 0) >= 8,
      UPSTREAM_TIMEOUT_MS * 5,
    );
    expect((settled.client_gone ?? 0) - (before.client_gone ?? 0)).toBe(8);
    expect((settled.timeout ?? 0) - (before.timeout ?? 0)).toBe(0);
    expect(await circuitOpen("product")).toBe(false);
    // Everybody else is served as usual.
    for (const path of [`/api/products/${productId}`, "/api/products?limit=20&page=2"]) {
      const res = await api(`${gw}${path}`);
      expect(res.status, path).toBe(200);
    }
  });

  it("answers a stalled request body with 408 itself: the service never waits for it, others log in as usual", async () => {
    const before = await outcomes("auth");
    const head =
      "POST /api/auth/login HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
    const started = Date.now();
    const stallers = await Promise.all(Array.from({ length: 8 }, () => rawRequest(gw, `${head}{"email":"`)));
    const statuses = await Promise.all(stallers.map(statusOf));
    const waited = Date.now() - started;
    for (const s of stallers) s.destroy();

    expect(statuses).toEqual(Array(8).fill(408));
    // The body idle timeout of its own, not the upstream timeout.
    expect(waited).toBeGreaterThanOrEqual(BODY_IDLE_TIMEOUT_MS - 50);
    expect(waited).toBeLessThan(UPSTREAM_TIMEOUT_MS);
    const after = await outcomes("auth");
    expect((after.body_timeout ?? 0) - (before.body_timeout ?? 0)).toBe(8);
    expect((after.timeout ?? 0) - (before.timeout ?? 0)).toBe(0);
    expect(await circuitOpen("auth")).toBe(false);

    const login = await api(`${gw}/api/auth/login`, {
      body: { email: "nobody@shopstream.test", password: "not-the-password" },
    });
    expect(isProblem(login, 401)).toBe(true);
  });

  it("still opens the circuit when the service itself fails, and closes it once the service is back", async () => {
    await platform.stopService("product");
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await api(`${gw}/api/products?limit=20&page=${100 + i}`)).status);
    }
    expect(statuses).toEqual([502, 502, 502]);
    const open = await api(`${gw}/api/products?limit=20&page=200`);
    expect(isProblem(open, 503)).toBe(true);
    expect(Number(open.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await circuitOpen("product")).toBe(true);

    await platform.startService("product");
    let probe = 0;
    const back = await until(
      "the half-open probe to reach the restarted service",
      // A query of its own each time, so the gateway's catalog cache cannot answer for the service.
      () => api(`${gw}/api/products/${productId}?probe=${++probe}`),
      (res) => res.status === 200,
    );
    expect(back.body.id).toBe(productId);
    expect(await circuitOpen("product")).toBe(false);
  });
});
