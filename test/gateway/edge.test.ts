import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayService } from "../../services/gateway/src/service.js";
import { api, isProblem } from "../support/http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { everyUpstreamAt, startEchoUpstream, startTokenIssuer } from "./stubs.js";

/** A raw request, so that paths reach the gateway exactly as written (fetch normalises `..`). */
function rawRequest(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer[] } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { hostname, port, path, method: options.method ?? "GET", headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on("error", reject);
    for (const chunk of options.body ?? []) req.write(chunk);
    req.end();
  });
}

const ORIGIN = "https://shop.example.test";

describe("gateway: routing, tokens and edge headers", () => {
  let platform: TestPlatform;
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let echo: Awaited<ReturnType<typeof startEchoUpstream>>;
  let gw = "";
  let address = 0;
  /** Each test its own client address, so rate limits of one never touch another. */
  const client = () => `203.0.113.${++address}`;

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    echo = await startEchoUpstream();
    platform = await startTestPlatform({
      label: "gateway_edge",
      services: { gateway: gatewayService },
      env: {
        gateway: {
          ...everyUpstreamAt(echo.url, issuer.jwksUrl),
          CORS_ORIGINS: `${ORIGIN},http://localhost:5173`,
          BODY_LIMIT_BYTES: String(1024 * 1024),
          UPLOAD_LIMIT_BYTES: String(6 * 1024 * 1024),
        },
      },
    });
    gw = platform.url("gateway");
  });
  afterAll(async () => {
    await platform?.stop();
    await echo?.close();
    await issuer?.close();
  });

  it("strips /api and streams the request to the owning service with Authorization, request id and X-Forwarded-For", async () => {
    const token = await issuer.token();
    const res = await api(`${gw}/api/cart/items?x=1`, {
      method: "POST",
      token,
      body: { productId: "p", quantity: 2 },
      headers: { "x-request-id": "client-chosen-id-1" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-upstream")).toBe("echo");
    expect(res.body.url).toBe("/cart/items?x=1");
    expect(res.body.method).toBe("POST");
    expect(res.body.headers.authorization).toBe(`Bearer ${token}`);
    expect(res.body.headers["x-request-id"]).toBe("client-chosen-id-1");
    expect(res.body.headers["x-forwarded-for"]).toContain("127.0.0.1");
    expect(res.body.bodyBytes).toBe(JSON.stringify({ productId: "p", quantity: 2 }).length);
    expect(res.headers.get("x-request-id")).toBe("client-chosen-id-1");
  });

  it("creates a request id when the client sends none (or a malformed one) and gives the same id to the service", async () => {
    const res = await api(`${gw}/api/products`, { headers: { "x-forwarded-for": client() } });
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.headers["x-request-id"]).toBe(id);
    const bad = await api(`${gw}/api/products`, { headers: { "x-request-id": "bad id with spaces" } });
    expect(bad.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("maps every public prefix to its service", async () => {
    const token = await issuer.token();
    const paths: [string, string][] = [
      ["/api/auth/login", "/auth/login"],
      ["/api/products/123", "/products/123"],
      ["/api/products?q=mug&page=2", "/products?q=mug&page=2"],
      ["/api/cart", "/cart"],
      ["/api/orders/abc", "/orders/abc"],
      ["/api/notifications", "/notifications"],
      ["/api/analytics/events", "/analytics/events"],
    ];
    for (const [path, upstreamPath] of paths) {
      const res = await api(`${gw}${path}`, { token });
      expect(res.status, path).toBe(200);
      expect(res.body.url, path).toBe(upstreamPath);
    }
    const unknown = await api(`${gw}/api/nowhere`);
    expect(isProblem(unknown, 404)).toBe(true);
    const lookalike = await api(`${gw}/api/productsandmore`);
    expect(isProblem(lookalike, 404)).toBe(true);
  });

  it("never forwards /internal/ paths, however they are spelled, and refuses dot segments and encoded slashes", async () => {
    const before = echo.seen.length;
    const token = await issuer.token();
    for (const path of [
      "/api/internal/carts/1",
      "/api/cart/internal/x",
      "/api/products/INTERNAL/reservations",
      "/api/products/%69nternal/reservations",
      "/api/products//internal/reservations",
    ]) {
      const res = await rawRequest(gw, path, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status, path).toBe(404);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    }
    for (const path of [
      "/api/products/../internal/reservations",
      "/api/products/%2e%2e/internal/reservations",
      "/api/products/x%2f..%2finternal",
      "/api/cart/..%5cinternal",
    ]) {
      const res = await rawRequest(gw, path, { headers: { authorization: `Bearer ${token}` } });
      expect([400, 404], path).toContain(res.status);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    }
    expect(echo.seen.length).toBe(before);
  });

  it("lets public routes through without a token and refuses protected ones with 401", async () => {
    const ip = client();
    for (const [method, path] of [
      ["GET", "/api/products"],
      ["GET", "/api/products/123"],
      ["POST", "/api/auth/register"],
      ["POST", "/api/auth/login"],
      ["POST", "/api/auth/refresh"],
      ["POST", "/api/auth/logout"],
      ["POST", "/api/analytics/events"],
    ] as const) {
      const res = await api(`${gw}${path}`, { method, headers: { "x-forwarded-for": ip } });
      expect(res.status, `${method} ${path}`).toBe(200);
    }
    const before = echo.seen.length;
    for (const [method, path] of [
      ["GET", "/api/cart"],
      ["POST", "/api/cart/items"],
      ["GET", "/api/orders"],
      ["POST", "/api/orders"],
      ["GET", "/api/notifications"],
      ["GET", "/api/auth/me"],
      ["POST", "/api/auth/password"],
      ["POST", "/api/products"],
      ["PATCH", "/api/products/123"],
      ["DELETE", "/api/products/123"],
    ] as const) {
      const res = await api(`${gw}${path}`, { method, headers: { "x-forwarded-for": ip } });
      expect(isProblem(res, 401), `${method} ${path}`).toBe(true);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
    expect(echo.seen.length).toBe(before);
  });

  it("answers 401 to forged, unsigned, algorithm-confused, expired and malformed tokens, even on public routes", async () => {
    const bad = {
      "another Ed25519 key": await issuer.token({ forged: true }),
      "alg: none": issuer.algNone(),
      "HS256 keyed with the public key": await issuer.hs256WithPublicKey(),
      expired: await issuer.token({ expired: true }),
      garbage: "not.a.token",
    };
    const before = echo.seen.length;
    for (const [what, token] of Object.entries(bad)) {
      for (const path of ["/api/cart", "/api/products"]) {
        const res = await api(`${gw}${path}`, { token, headers: { "x-forwarded-for": client() } });
        expect(isProblem(res, 401), `${what} on ${path}`).toBe(true);
      }
    }
    const basic = await api(`${gw}/api/cart`, { headers: { authorization: "Basic dXNlcjpwdw==" } });
    expect(isProblem(basic, 401)).toBe(true);
    expect(echo.seen.length).toBe(before);
  });

  it("answers CORS preflights for allowed origins without touching a service, and caches them", async () => {
    const before = echo.seen.length;
    const res = await fetch(`${gw}/api/cart/items`, {
      method: "OPTIONS",
      headers: {
        origin: ORIGIN,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type, idempotency-key",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("idempotency-key");
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();

    const foreign = await fetch(`${gw}/api/cart/items`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();

    const simple = await api(`${gw}/api/products`, { headers: { origin: ORIGIN } });
    expect(simple.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(simple.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
    expect(echo.seen.length).toBe(before + 1);
  });

  it("sets security headers on API answers", async () => {
    const res = await api(`${gw}/api/products`);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("x-powered-by")).toBeNull();
  });

  it("refuses a body over the limit with 413, by Content-Length and while streaming, and allows larger image uploads", async () => {
    const token = await issuer.token();
    const before = echo.seen.length;
    const huge = await api(`${gw}/api/cart/items`, {
      token,
      body: JSON.stringify({ productId: "x".repeat(2 * 1024 * 1024), quantity: 1 }),
      headers: { "content-type": "application/json" },
    });
    expect(isProblem(huge, 413)).toBe(true);

    // No Content-Length: the limit is enforced on the bytes as they stream through.
    const chunk = Buffer.alloc(256 * 1024, "a");
    const streamed = await rawRequest(gw, "/api/cart/items", {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        "transfer-encoding": "chunked",
      },
      body: Array.from({ length: 8 }, () => chunk),
    });
    expect(streamed.status).toBe(413);
    expect(streamed.headers["content-type"]).toMatch(/problem\+json/);
    expect(echo.seen.filter((r) => r.bodyBytes > 1024 * 1024)).toHaveLength(0);

    const image = Buffer.alloc(5 * 1024 * 1024, 1);
    const upload = await api(`${gw}/api/products/${"1".repeat(8)}/image`, {
      method: "PUT",
      token,
      body: image,
      headers: { "content-type": "image/png" },
    });
    expect(upload.status).toBe(200);
    expect(upload.body.bodyBytes).toBe(image.length);
    const tooBigImage = await api(`${gw}/api/products/1/image`, {
      method: "PUT",
      token,
      body: Buffer.alloc(7 * 1024 * 1024, 1),
      headers: { "content-type": "image/png" },
    });
    expect(isProblem(tooBigImage, 413)).toBe(true);
    expect(echo.seen.length).toBe(before + 1);
  });

  it("passes an upstream's own error answer through unchanged", async () => {
    const res = await api(`${gw}/api/products/fails`);
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toMatch(/problem\+json/);
  });

  it("is ready without depending on Redis, its catalog subscription or the JWKS, and shows them on /health", async () => {
    const res = await api(`${gw}/ready`);
    expect(res.status).toBe(200);
    expect(res.body.checks).toEqual({});
    // The subscription to product's changes is made in the background: once it is.
    await expect
      .poll(async () => (await api(`${gw}/health`)).body)
      .toEqual({
        status: "ok",
        service: "gateway",
        dependencies: { redis: "ok", "catalog changes": "ok", jwks: "ok" },
      });
  });

  it("exposes request latency by service route and upstream outcomes on /metrics", async () => {
    const metrics = await (await fetch(`${gw}/metrics`)).text();
    expect(metrics).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/api\/products\{\/\*rest\}"/);
    expect(metrics).toMatch(
      /shopstream_gateway_upstream_requests_total\{[^}]*upstream="product"[^}]*outcome="answered"/,
    );
  });
});
