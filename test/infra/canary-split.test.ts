/**
 * A canary's traffic split with two real versions of the gateway: two gateway processes (the real
 * service, on this machine's Redis), one labelled `stable` and one `2a9f0c1`, behind an edge that
 * routes by the Traefik dynamic configuration the program generates for a stack with
 * `canary: {service: gateway, weight: 20}`.
 *
 * Traefik has no Debian or npm package, so the edge here is a stand-in that reads the generated
 * routers and services and balances a weighted service as Traefik's weighted round robin does
 * (earliest deadline first: each pick moves the chosen service's deadline on by 1/weight; Traefik's
 * pkg/server/service/loadbalancer/wrr), with its sticky cookie. What this shows: the generated
 * configuration sends the configured share to the right process, a browser stays on the version
 * it got, promoting and rolling back move all traffic, and each version's own metrics count what
 * it served under its `version` label. The real Traefik runs the same configuration in e2e.yml.
 */
import { Agent, createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig, platformSettings } from "../../infra/src/config.js";
import {
  CANARY_COOKIE,
  type ConfigFileContext,
  type TraefikService,
  traefikDynamicConfig,
} from "../../infra/src/config-files/index.js";
import { buildPlatform, containerResolver } from "../../infra/src/model/index.js";
import { gatewayService } from "../../services/gateway/src/service.js";
import { startEchoUpstream, startTokenIssuer } from "../gateway/stubs.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";

const CANARY_VERSION = "2a9f0c1";
const HOST = "shop.example.test";

/** The dynamic configuration the program renders for a canary of the gateway at `weight`. */
function generated(weight: number) {
  const config = parseStackConfig(
    {
      domain: HOST,
      canary: JSON.stringify({
        service: "gateway",
        image: `ghcr.io/acme/shopstream/gateway:${CANARY_VERSION}`,
        weight,
      }),
    },
    "dev",
  );
  const platform = buildPlatform(platformSettings(config));
  const ctx: ConfigFileContext = {
    platform,
    host: containerResolver.host,
    scrapeDiscovery: () => ({}),
    logDiscovery: "docker",
    edge: { tls: { mode: "self-signed" }, httpsPort: 443 },
  };
  return traefikDynamicConfig(ctx).http;
}

/**
 * The edge stand-in: the router whose rule matches, then its service, balanced as Traefik
 * balances a weighted service (EDF over 1/weight, sticky by cookie), to the one server of each
 * load balancer; `upstreams` maps the servers' container names to this machine's ports.
 */
function edge(http: ReturnType<typeof generated>, upstreams: Record<string, number>) {
  const router = Object.values(http.routers).find((r) => r.rule.includes("PathPrefix(`/api`)"));
  if (!router) throw new Error("no router for /api");
  const deadlines = new Map<string, number>();
  let now = 0;
  const pick = (name: string, cookie: string | undefined): { server: string; chosen?: string } => {
    const service: TraefikService | undefined = http.services[name];
    if (!service) throw new Error(`no service ${name}`);
    if ("loadBalancer" in service) return { server: service.loadBalancer.servers[0]!.url };
    const children = service.weighted.services;
    const sticky = children.find((c) => c.name === cookie);
    if (sticky) return { server: pick(sticky.name, undefined).server };
    for (const c of children) if (!deadlines.has(c.name)) deadlines.set(c.name, now + 1 / c.weight);
    const next = [...children].sort((a, b) => deadlines.get(a.name)! - deadlines.get(b.name)!)[0]!;
    now = deadlines.get(next.name)!;
    deadlines.set(next.name, now + 1 / next.weight);
    return { server: pick(next.name, undefined).server, chosen: next.name };
  };
  const served = new Map<string, number>();
  // Each hop on a connection of its own: a pooled one the gateway is closing (its keep-alive
  // timeout) would fail a request that never reached it.
  const agent = new Agent({ keepAlive: false });
  const server = createServer((req, res) => {
    const cookie = /(?:^|;\s*)shopstream_release=([^;]+)/.exec(req.headers.cookie ?? "")?.[1];
    const { server: url, chosen } = pick(router.service, cookie);
    const target = new URL(url);
    const port = upstreams[target.hostname];
    if (!port) throw new Error(`no upstream for ${target.hostname}`);
    served.set(target.hostname, (served.get(target.hostname) ?? 0) + 1);
    const upstream = httpRequest(
      { host: "127.0.0.1", port, path: req.url, method: req.method, headers: req.headers, agent },
      (up) => {
        const headers = { ...up.headers, "x-served-by": target.hostname };
        if (chosen) headers["set-cookie"] = [`${CANARY_COOKIE}=${chosen}; Path=/; HttpOnly; SameSite=Lax`];
        res.writeHead(up.statusCode ?? 502, headers);
        up.pipe(res);
      },
    );
    upstream.on("error", () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    req.pipe(upstream);
  });
  // As Traefik's entry points (180 s idle timeout): a client's idle connection outlives the
  // pauses a loaded machine makes, so no request races the server closing it.
  server.keepAliveTimeout = 180_000;
  return { server, served };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** Requests (but its own probes and scrapes) a gateway's own metrics counted, by version. */
async function counted(base: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^http_request_duration_seconds_count\{(.*)\} (\d+)$/.exec(line);
    if (!m || /route="\/(metrics|health|ready)"/.test(m[1]!)) continue;
    const version = /version="([^"]*)"/.exec(m[1]!)?.[1] ?? "none";
    out[version] = (out[version] ?? 0) + Number(m[2]);
  }
  return out;
}

let stable: TestPlatform;
let next: TestPlatform;
let echo: Awaited<ReturnType<typeof startEchoUpstream>>;
let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
const edges: Server[] = [];

beforeAll(async () => {
  echo = await startEchoUpstream();
  issuer = await startTokenIssuer();
  const env = (version: string) => ({
    gateway: {
      SERVICE_VERSION: version,
      JWKS_URL: issuer.jwksUrl,
      AUTH_URL: echo.url,
      PRODUCT_URL: echo.url,
      CART_URL: echo.url,
      ORDER_URL: echo.url,
      NOTIFICATION_URL: echo.url,
      ANALYTICS_URL: echo.url,
      RATE_LIMIT_PER_MINUTE: "1000000",
    },
  });
  [stable, next] = await Promise.all([
    startTestPlatform({ label: "canary_stable", services: { gateway: gatewayService }, env: env("stable") }),
    startTestPlatform({
      label: "canary_next",
      services: { gateway: gatewayService },
      env: env(CANARY_VERSION),
    }),
  ]);
});

afterAll(async () => {
  for (const e of edges) {
    e.closeAllConnections();
    await new Promise((r) => e.close(r));
  }
  await Promise.all([stable?.stop(), next?.stop()]);
  await echo?.close();
  await issuer?.close();
});

async function startEdge(weight: number) {
  const port = (u: string) => Number(new URL(u).port);
  const e = edge(generated(weight), {
    gateway: port(stable.url("gateway")),
    "gateway-canary": port(next.url("gateway")),
  });
  edges.push(e.server);
  return { url: `http://127.0.0.1:${await listen(e.server)}`, served: e.served };
}

/** Sends `n` catalog requests, `concurrency` at a time, each from a new browser (no cookie). */
async function send(url: string, n: number, concurrency = 10): Promise<Record<string, number>> {
  const by: Record<string, number> = {};
  let sent = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < n) {
        sent++;
        const res = await fetch(`${url}/api/products`, { headers: { host: HOST } });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        const who = res.headers.get("x-served-by") ?? "?";
        by[who] = (by[who] ?? 0) + 1;
      }
    }),
  );
  return by;
}

describe("a canary of the gateway with 20% of the traffic, two real versions", () => {
  it("sends 20% of new browsers to the canary, and each version's metrics count its share by version", async () => {
    const { url } = await startEdge(20);
    const before = { stable: await counted(stable.url("gateway")), next: await counted(next.url("gateway")) };
    const n = 300;
    const by = await send(url, n);
    const share = (by["gateway-canary"] ?? 0) / n;
    expect(share).toBeGreaterThanOrEqual(0.17);
    expect(share).toBeLessThanOrEqual(0.23);
    expect((by.gateway ?? 0) + (by["gateway-canary"] ?? 0)).toBe(n);
    // The processes themselves say the same, each under its own version label and no other.
    const after = { stable: await counted(stable.url("gateway")), next: await counted(next.url("gateway")) };
    expect((after.next[CANARY_VERSION] ?? 0) - (before.next[CANARY_VERSION] ?? 0)).toBe(by["gateway-canary"]);
    expect((after.stable.stable ?? 0) - (before.stable.stable ?? 0)).toBe(by.gateway);
    expect(Object.keys(after.next)).toEqual([CANARY_VERSION]);
    expect(Object.keys(after.stable)).toEqual(["stable"]);
  }, 120_000);

  it("keeps a browser on the version it first got", async () => {
    const { url } = await startEdge(20);
    // The fifth new browser is the first the 80/20 rotation sends to the canary.
    const cookies: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${url}/api/products`, { headers: { host: HOST } });
      await res.arrayBuffer();
      cookies.push(`${res.headers.get("x-served-by")}|${res.headers.get("set-cookie")?.split(";")[0]}`);
    }
    const onCanary = cookies.find((c) => c.startsWith("gateway-canary|"));
    expect(onCanary).toBeDefined();
    const cookie = onCanary!.split("|")[1]!;
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${url}/api/products`, { headers: { host: HOST, cookie } });
      await res.arrayBuffer();
      expect(res.headers.get("x-served-by")).toBe("gateway-canary");
    }
  }, 120_000);

  it("promoted (weight 100) sends everything to the canary; rolled back (weight 0), everything to the stable", async () => {
    const promoted = await startEdge(100);
    expect(await send(promoted.url, 100)).toEqual({ "gateway-canary": 100 });
    const rolledBack = await startEdge(0);
    expect(await send(rolledBack.url, 100)).toEqual({ gateway: 100 });
  }, 120_000);
});
