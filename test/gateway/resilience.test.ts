import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { gatewayService } from "../../services/gateway/src/service.js";
import { api, isProblem } from "../support/http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import {
  startEchoUpstream,
  startRedisRelay,
  startSilentUpstream,
  startTokenIssuer,
  startWebSocketUpstream,
} from "./stubs.js";

const DEAD = "http://127.0.0.1:1";

/** Opens a WebSocket and resolves with its first message, or rejects with the HTTP status it was refused with. */
function connect(url: string, protocols?: string[]): Promise<{ ws: WebSocket; first: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.once("message", (data) => resolve({ ws, first: data.toString() }));
    ws.once("unexpected-response", (_req, res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        reject(
          Object.assign(new Error(`refused ${res.statusCode}`), {
            status: res.statusCode,
            body: Buffer.concat(chunks).toString(),
          }),
        ),
      );
    });
    ws.once("error", reject);
  });
}

describe("gateway: dead, slow and streaming upstreams", () => {
  let platform: TestPlatform;
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let silent: Awaited<ReturnType<typeof startSilentUpstream>>;
  let echo: Awaited<ReturnType<typeof startEchoUpstream>>;
  let notifications: Awaited<ReturnType<typeof startWebSocketUpstream>>;
  let storefront = "";
  let gw = "";

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    silent = await startSilentUpstream();
    echo = await startEchoUpstream();
    notifications = await startWebSocketUpstream();
    storefront = mkdtempSync(join(tmpdir(), "shopstream-storefront-"));
    mkdirSync(join(storefront, "assets"));
    writeFileSync(join(storefront, "index.html"), "<!doctype html><title>ShopStream</title>");
    writeFileSync(join(storefront, "assets", "index-Ab12Cd34.js"), "console.log('shop')");
    platform = await startTestPlatform({
      label: "gateway_resilience",
      services: { gateway: gatewayService },
      env: {
        gateway: {
          JWKS_URL: issuer.jwksUrl,
          AUTH_URL: echo.url,
          PRODUCT_URL: echo.url,
          CART_URL: DEAD,
          ORDER_URL: silent.url,
          ANALYTICS_URL: DEAD,
          NOTIFICATION_URL: notifications.url,
          UPSTREAM_TIMEOUT_MS: "400",
          CHECKOUT_TIMEOUT_MS: "1200",
          CIRCUIT_FAILURE_THRESHOLD: "3",
          CIRCUIT_OPEN_MS: "60000",
          STOREFRONT_DIR: storefront,
        },
      },
    });
    gw = platform.url("gateway");
  });
  afterAll(async () => {
    await platform?.stop();
    await Promise.all([issuer?.close(), silent?.close(), echo?.close(), notifications?.close()]);
    rmSync(storefront, { recursive: true, force: true });
  });

  it("answers 502 problem+json at once when a service refuses connections", async () => {
    const started = Date.now();
    const res = await api(`${gw}/api/cart`, { token: await issuer.token() });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(isProblem(res, 502)).toBe(true);
    expect(res.body.detail).toMatch(/cart/);
  });

  it("answers 504 problem+json after the route's timeout when a service never answers: checkouts wait longer", async () => {
    const token = await issuer.token();
    const timed = async (run: () => ReturnType<typeof api>) => {
      const started = Date.now();
      const res = await run();
      return { res, ms: Date.now() - started };
    };
    const [list, checkout] = await Promise.all([
      timed(() => api(`${gw}/api/orders`, { token })),
      timed(() => api(`${gw}/api/orders`, { token, body: { paymentToken: "tok_visa" } })),
    ]);
    // The upstream never answers: an answer at all is the timeout firing. A timer never fires
    // early, so the lower bounds hold on any machine; how late it may fire on a busy one is not
    // this test's business (no upper bound in wall time), only that the list's comes first.
    expect(isProblem(list.res, 504)).toBe(true);
    expect(list.res.body.detail).toMatch(/0\.4 s/);
    expect(list.ms).toBeGreaterThanOrEqual(350);
    // POST /api/orders gets CHECKOUT_TIMEOUT_MS, the order service's own worst case.
    expect(isProblem(checkout.res, 504)).toBe(true);
    expect(checkout.res.body.detail).toMatch(/1\.2 s/);
    expect(checkout.ms).toBeGreaterThanOrEqual(1150);
    expect(list.ms).toBeLessThan(checkout.ms);
    expect(silent.received()).toBeGreaterThanOrEqual(2);
  });

  it("lets a slow upload to a healthy service take longer than the timeout, as long as bytes keep moving", async () => {
    const { hostname, port } = new URL(gw);
    const token = await issuer.token({ role: "admin" });
    const chunk = Buffer.alloc(64 * 1024, 7);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          hostname,
          port,
          path: "/api/products/abc/image",
          method: "PUT",
          headers: { authorization: `Bearer ${token}`, "content-type": "image/png" },
        },
        (res) => {
          let body = "";
          res.on("data", (c: Buffer) => {
            body += c.toString();
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      let sent = 0;
      const tick = setInterval(() => {
        req.write(chunk);
        if (++sent === 6) {
          clearInterval(tick);
          req.end();
        }
      }, 150);
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).bodyBytes).toBe(6 * chunk.length);
  });

  it("cuts an answer that goes silent half-way instead of holding the client", async () => {
    const started = Date.now();
    const { hostname, port } = new URL(gw);
    const outcome = await new Promise<{ status: number; complete: boolean; body: string }>(
      (resolve, reject) => {
        const req = httpRequest({ hostname, port, path: "/api/products/stalls" }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => {
            body += c.toString();
          });
          res.on("error", () => undefined);
          res.on("close", () => resolve({ status: res.statusCode ?? 0, complete: res.complete, body }));
        });
        req.on("error", reject);
        req.end();
      },
    );
    expect(outcome).toEqual({ status: 200, complete: false, body: '{"items":[' });
    expect(Date.now() - started).toBeLessThan(2000);
    // A service that goes silent mid-answer is at fault: the circuit hears of it.
    const metrics = (await api(`${gw}/metrics`)).text;
    expect(metrics).toMatch(
      /shopstream_gateway_upstream_requests_total\{[^}]*upstream="product"[^}]*outcome="broken"[^}]*\} 1/,
    );
  });

  it("opens the circuit after repeated failures and answers 503 with Retry-After without trying the service", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await api(`${gw}/api/analytics/events`, { body: { type: "x" } })).status);
    expect(statuses.slice(0, 3)).toEqual([502, 502, 502]);
    const open = await api(`${gw}/api/analytics/events`, { body: { type: "x" } });
    expect(isProblem(open, 503)).toBe(true);
    expect(Number(open.headers.get("retry-after"))).toBeGreaterThan(0);
    // The other services are not affected.
    expect((await api(`${gw}/api/products`)).status).toBe(200);
  });

  it("passes WebSockets through to the notification service with the token in the subprotocol", async () => {
    const token = await issuer.token();
    const byProtocol = await connect(`${gw.replace("http", "ws")}/api/notifications/ws`, ["bearer", token]);
    const greeting = JSON.parse(byProtocol.first);
    expect(greeting).toMatchObject({ url: "/notifications/ws", protocol: "bearer" });
    expect(greeting.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(greeting.forwardedFor).toContain("127.0.0.1");
    const echoed = new Promise<string>((resolve) =>
      byProtocol.ws.once("message", (d) => resolve(d.toString())),
    );
    byProtocol.ws.send("ping");
    expect(await echoed).toBe("echo:ping");
    byProtocol.ws.close();
  });

  it("refuses a token in the URL with 400 before it goes further, a valid one too", async () => {
    const base = `${gw.replace("http", "ws")}/api/notifications/ws`;
    const token = await issuer.token();
    for (const protocols of [undefined, ["bearer", token]]) {
      const refused = await connect(`${base}?access_token=${token}`, protocols).catch((e) => e);
      expect(refused.status).toBe(400);
      expect(JSON.parse(refused.body).detail).toMatch(/Sec-WebSocket-Protocol/);
    }
  });

  it("refuses a WebSocket upgrade with 401 without a valid token, and 404 on another path", async () => {
    const base = `${gw.replace("http", "ws")}/api/notifications/ws`;
    await expect(connect(base)).rejects.toMatchObject({ status: 401 });
    await expect(connect(base, ["bearer", issuer.algNone()])).rejects.toMatchObject({ status: 401 });
    await expect(connect(base, ["bearer", await issuer.token({ expired: true })])).rejects.toMatchObject({
      status: 401,
    });
    const refused = await connect(base, ["bearer", await issuer.token({ forged: true })]).catch((e) => e);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toMatchObject({ status: 401, title: "Unauthorized" });
    await expect(
      connect(`${gw.replace("http", "ws")}/api/products/ws`, ["bearer", await issuer.token()]),
    ).rejects.toMatchObject({ status: 404 });
  });

  it("serves the storefront for the local run: immutable assets, a revalidated shell and an index.html fallback", async () => {
    const asset = await fetch(`${gw}/assets/index-Ab12Cd34.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    for (const path of ["/", "/cart", "/products/123", "/index.html"]) {
      const page = await fetch(`${gw}${path}`, { headers: { accept: "text/html,*/*" } });
      expect(page.status, path).toBe(200);
      expect(await page.text()).toContain("<title>ShopStream</title>");
      expect(page.headers.get("cache-control"), path).toBe("no-cache");
      expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    }
    expect((await fetch(`${gw}/assets/missing.js`, { headers: { accept: "text/html" } })).status).toBe(404);
    const api404 = await api(`${gw}/api/nowhere`, { headers: { accept: "text/html" } });
    expect(isProblem(api404, 404)).toBe(true);
  });
});

describe("gateway: rate limits", () => {
  let platform: TestPlatform;
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let echo: Awaited<ReturnType<typeof startEchoUpstream>>;
  let relay: Awaited<ReturnType<typeof startRedisRelay>>;
  let gw = "";

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    echo = await startEchoUpstream();
    relay = await startRedisRelay();
    platform = await startTestPlatform({
      label: "gateway_limits",
      services: { gateway: gatewayService },
      env: {
        gateway: {
          JWKS_URL: issuer.jwksUrl,
          AUTH_URL: echo.url,
          PRODUCT_URL: echo.url,
          CART_URL: echo.url,
          REDIS_URL: relay.url,
          RATE_LIMIT_PER_MINUTE: "5",
          AUTH_RATE_LIMIT_PER_MINUTE: "3",
        },
      },
    });
    gw = platform.url("gateway");
  });
  afterAll(async () => {
    await platform?.stop();
    await Promise.all([issuer?.close(), echo?.close()]);
  });

  it("answers 429 problem+json with Retry-After once a client used its limit, and reports the limit on every answer", async () => {
    const headers = { "x-forwarded-for": "198.51.100.7" };
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await api(`${gw}/api/products`, { headers }));
    expect(answers.slice(0, 5).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers[0]!.headers.get("ratelimit-policy")).toBe('"api";q=5;w=60');
    expect(answers[0]!.headers.get("ratelimit")).toMatch(/^"api";r=4;t=\d+$/);
    expect(answers[4]!.headers.get("ratelimit")).toMatch(/^"api";r=0;t=\d+$/);
    const limited = answers[5]!;
    expect(isProblem(limited, 429)).toBe(true);
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get("ratelimit")).toMatch(/^"api";r=0;t=\d+$/);
    // Another client is not affected.
    expect((await api(`${gw}/api/products`, { headers: { "x-forwarded-for": "198.51.100.8" } })).status).toBe(
      200,
    );
    // Answers the gateway gives itself count and carry the headers too.
    const unknown = await api(`${gw}/api/nowhere`, { headers: { "x-forwarded-for": "198.51.100.8" } });
    expect(isProblem(unknown, 404)).toBe(true);
    expect(unknown.headers.get("ratelimit")).toMatch(/^"api";r=3;t=\d+$/);
  });

  it("counts a signed-in user on their own bucket, whatever their address", async () => {
    const token = await issuer.token();
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      const res = await api(`${gw}/api/cart`, {
        token,
        headers: { "x-forwarded-for": `198.51.100.${20 + i}` },
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const other = await api(`${gw}/api/cart`, {
      token: await issuer.token(),
      headers: { "x-forwarded-for": "198.51.100.20" },
    });
    expect(other.status).toBe(200);
  });

  it("holds /api/auth/* to its stricter bucket per address", async () => {
    const headers = { "x-forwarded-for": "198.51.100.40" };
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await api(`${gw}/api/auth/login`, { headers, body: {} })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const last = await api(`${gw}/api/auth/login`, { headers, body: {} });
    expect(last.headers.get("ratelimit-policy")).toContain('"auth";q=3;w=60');
  });

  it("fails open when Redis is gone: requests are served, without limits, it stays ready and /health says why", async () => {
    await relay.cut();
    const headers = { "x-forwarded-for": "198.51.100.7" }; // limited in the first test
    const started = Date.now();
    const res = await api(`${gw}/api/products`, { headers });
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit")).toBeNull();
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await api(`${gw}/ready`)).status).toBe(200);
    const health = await api(`${gw}/health`);
    expect(health.status).toBe(200);
    expect(health.body.status).toBe("degraded");
    expect(health.body.dependencies.redis).not.toBe("ok");
  });
});
