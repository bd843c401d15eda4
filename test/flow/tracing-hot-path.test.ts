/**
 * The gateway's hot path (anonymous catalog reads, traced by hand: docs/tracing.md) on a bad
 * night, with every span recorded: clients that leave, fifty readers of one cold product, Redis
 * away, product cutting its answer off. Each read keeps a SERVER span of its own that ends, and
 * each line the gateway logs about it names its trace.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import {
  type AddressInfo,
  createServer as createTcpServer,
  type Socket,
  connect as tcpConnect,
} from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { installTestTracing } from "@shopstream/runtime/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { startRedisRelay } from "../gateway/stubs.js";
import type { TestPlatform } from "../support/platform.js";

// Before any service starts or any client library loads (the platform loads Redis's).
const exporter = installTestTracing();
type ReadableSpan = ReturnType<typeof exporter.getFinishedSpans>[number];
const lines: { service: string; line: Record<string, unknown> }[] = [];
const warnings: string[] = [];
const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);

/**
 * A TCP relay between the gateway and product that can break the next answer product sends:
 * `headers` drops the connection before any of it, `body` forwards its head and then drops it.
 */
async function startAnswerCutter(target: () => number) {
  let cut: "headers" | "body" | undefined;
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    const upstream = tcpConnect(target(), "127.0.0.1");
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.on("data", (chunk: Buffer) => {
      if (!cut) return void client.write(chunk);
      const head = chunk.indexOf("\r\n\r\n");
      const keep = cut === "body" && head > 0 ? chunk.subarray(0, head + 5) : Buffer.alloc(0);
      cut = undefined;
      client.write(keep, drop);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cutNextAnswer(where: "headers" | "body") {
      cut = where;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let platform: TestPlatform;
let relay: Awaited<ReturnType<typeof startRedisRelay>>;
let cutter: Awaited<ReturnType<typeof startAnswerCutter>>;
let imagesDir = "";
let gw = "";
let adminToken = "";

beforeAll(async () => {
  process.on("warning", onWarning);
  const { startRedisRelay } = await import("../gateway/stubs.js");
  const { startTestPlatform } = await import("../support/platform.js");
  const { adminSession } = await import("../support/users.js");
  const { authService } = await import("../../services/auth/src/service.js");
  const { productService } = await import("../../services/product/src/service.js");
  const { gatewayService } = await import("../../services/gateway/src/service.js");
  relay = await startRedisRelay();
  cutter = await startAnswerCutter(() => platform.services.product!.port);
  imagesDir = mkdtempSync(join(tmpdir(), "shopstream-tracing-hot-path-"));
  platform = await startTestPlatform({
    label: "tracing_hot_path",
    services: { auth: authService, product: productService, gateway: gatewayService },
    env: {
      product: { IMAGES_DIR: imagesDir, SEED_DEMO_CATALOG: "false" },
      gateway: {
        LOG_LEVEL: "info",
        REDIS_URL: relay.url,
        PRODUCT_URL: cutter.url,
        RATE_LIMIT_PER_MINUTE: "100000",
        // Longer than any lookup a test holds in the relay: only `refuse` makes one fail.
        RATE_LIMIT_TIMEOUT_MS: "10000",
        UPSTREAM_TIMEOUT_MS: "20000",
        // The answers these tests break must not open the circuit for the ones after them.
        CIRCUIT_FAILURE_THRESHOLD: "100",
      },
    },
    logs: (service, line) => lines.push({ service, line: JSON.parse(line) as Record<string, unknown> }),
  });
  gw = platform.url("gateway");
  adminToken = (await adminSession(platform)).accessToken;
});

afterAll(async () => {
  process.off("warning", onWarning);
  relay?.restore();
  relay?.release();
  await platform?.stop();
  await cutter?.close();
  if (imagesDir) rmSync(imagesDir, { recursive: true, force: true });
});

const SERVICE = "shopstream.service";
const attr = (s: ReadableSpan, key: string) => s.attributes[key];

/** A caller's W3C trace context. */
function caller() {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const serverSpans = (service: string, traceId?: string) =>
  exporter
    .getFinishedSpans()
    .filter(
      (s) =>
        s.kind === SpanKind.SERVER &&
        attr(s, SERVICE) === service &&
        (traceId === undefined || s.spanContext().traceId === traceId),
    );

/** The gateway's request log line for the answer with this X-Request-Id. */
const requestLine = (requestId: string | null | undefined) =>
  lines.find((l) => l.service === "gateway" && l.line.reqId === requestId && "res" in l.line)?.line;

async function newProduct(): Promise<string> {
  const res = await fetch(`${gw}/api/products`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({
      sku: `HOT-${randomBytes(4).toString("hex")}`,
      name: "Hot path product",
      description: "Read by the hot path's tracing tests",
      category: "Testing",
      priceCents: 500,
      stock: 3,
    }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function cacheMisses(): Promise<number> {
  const text = await (await fetch(`${gw}/metrics`)).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith("shopstream_gateway_catalog_cache_total{") && l.includes('result="miss"'));
  return line ? Number(line.split(" ").pop()) : 0;
}

/** A raw client on its own connection: the answer as it arrives, and a way to leave. */
function rawGet(path: string, headers: Record<string, string> = {}) {
  const { hostname, port } = new URL(gw);
  let seen = "";
  const socket = tcpConnect(Number(port), hostname);
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  socket.write(`GET ${path} HTTP/1.1\r\nHost: shop\r\n${head}\r\n`);
  socket.on("data", (chunk: Buffer) => {
    seen += chunk.toString("latin1");
  });
  socket.on("error", () => undefined);
  return { socket, status: () => Number(/^HTTP\/1\.1 (\d{3})/.exec(seen)?.[1] ?? 0), text: () => seen };
}

/**
 * Holds product's reads of its `products` table (a table lock from another session) until
 * `release`; `waiting` counts product's statements waiting on it.
 */
async function holdProductReads(): Promise<{ waiting(): Promise<number>; release(): Promise<void> }> {
  const { rootConnection } = await import("../support/infra.js");
  const db = platform.db("product");
  const lock = await rootConnection(db.name);
  await lock.query("LOCK TABLES products WRITE");
  return {
    waiting: async () => {
      const rows = await db.query<{ db: string | null; State: string | null }[]>("SHOW PROCESSLIST");
      return rows.filter((r) => r.db === db.name && /lock/i.test(r.State ?? "")).length;
    },
    release: async () => {
      await lock.query("UNLOCK TABLES");
      await lock.end();
    },
  };
}

const RATE_LIMIT_WARNING = "rate limits unavailable (Redis); serving without limits";

describe("the hot path's hand-made spans, on a bad night", () => {
  it("gives fifty concurrent readers of a cold product a span each under its own caller, and makes one product call", async () => {
    const id = await newProduct();
    const callers = Array.from({ length: 50 }, caller);
    const misses = await cacheMisses();
    const held = await holdProductReads();
    let pending: Promise<{ status: number; requestId: string | null }>[] = [];
    try {
      pending = callers.map((c) =>
        fetch(`${gw}/api/products/${id}`, { headers: { traceparent: c.traceparent } }).then(async (r) => {
          await r.arrayBuffer();
          return { status: r.status, requestId: r.headers.get("x-request-id") };
        }),
      );
      // All fifty are in: one waits on product (held on the lock), the others on its answer.
      await expect.poll(cacheMisses, { timeout: 15_000 }).toBeGreaterThanOrEqual(misses + 50);
      await expect.poll(held.waiting, { timeout: 15_000 }).toBeGreaterThan(0);
    } finally {
      await held.release();
    }
    const answers = await Promise.all(pending);
    expect(answers.map((a) => a.status)).toEqual(callers.map(() => 200));

    await expect
      .poll(() => callers.filter((c) => serverSpans("gateway", c.traceId).length === 1).length)
      .toBe(50);
    for (const [i, c] of callers.entries()) {
      const span = serverSpans("gateway", c.traceId)[0]!;
      expect(span.parentSpanContext?.spanId).toBe(c.spanId);
      expect(attr(span, "http.response.status_code")).toBe(200);
      const line = requestLine(answers[i]!.requestId);
      expect(line?.trace_id).toBe(c.traceId);
      expect(line?.span_id).toBe(span.spanContext().spanId);
    }

    // One call to product, in the trace of the read that made it, under that read's span; the
    // others waited for its answer and have no product span (docs/tracing.md).
    const productSpans = () =>
      exporter
        .getFinishedSpans()
        .filter(
          (s) =>
            s.kind === SpanKind.SERVER &&
            attr(s, SERVICE) === "product" &&
            callers.some((c) => c.traceId === s.spanContext().traceId),
        );
    await expect.poll(() => productSpans().length).toBeGreaterThan(0);
    expect(productSpans()).toHaveLength(1);
    const product = productSpans()[0]!;
    const spans = exporter.getFinishedSpans();
    const call = spans.find((s) => s.spanContext().spanId === product.parentSpanContext?.spanId)!;
    expect(call.kind).toBe(SpanKind.CLIENT);
    expect(call.parentSpanContext?.spanId).toBe(
      serverSpans("gateway", product.spanContext().traceId)[0]!.spanContext().spanId,
    );
  });

  it("ends the span of every client that leaves, waiting on product or on the rate limit, and answers the others", async () => {
    const id = await newProduct();
    const path = `/api/products/${id}`;
    const leaving = [caller(), caller(), caller()];
    const staying = [caller(), caller(), caller()];
    const misses = await cacheMisses();
    const held = await holdProductReads();
    let stayed: ReturnType<typeof rawGet>[] = [];
    try {
      // The first read asks product (held); five more wait for its answer; three of them leave.
      const filler = rawGet(path, { traceparent: leaving[0]!.traceparent });
      await expect.poll(held.waiting, { timeout: 15_000 }).toBeGreaterThan(0);
      const left = leaving.slice(1).map((c) => rawGet(path, { traceparent: c.traceparent }));
      stayed = staying.map((c) => rawGet(path, { traceparent: c.traceparent }));
      await expect.poll(cacheMisses, { timeout: 15_000 }).toBeGreaterThanOrEqual(misses + 6);
      for (const client of [filler, ...left]) client.socket.destroy();
      await expect
        .poll(() => leaving.filter((c) => serverSpans("gateway", c.traceId).length === 1).length)
        .toBe(3);
    } finally {
      await held.release();
    }
    // The others ask product themselves once the read they waited for is gone.
    await expect.poll(() => stayed.map((c) => c.status()), { timeout: 15_000 }).toEqual([200, 200, 200]);
    for (const client of stayed) client.socket.destroy();

    // A cached product whose readers leave while their rate-limit lookup waits in Redis.
    await fetch(`${gw}${path}`).then((r) => r.arrayBuffer());
    const waiting = [caller(), caller(), caller(), caller()];
    relay.hold();
    try {
      const clients = waiting.map((c) => rawGet(path, { traceparent: c.traceparent }));
      await expect.poll(() => relay.heldCount("ratelimit:api:")).toBeGreaterThanOrEqual(waiting.length);
      for (const client of clients) client.socket.destroy();
      await expect
        .poll(() => waiting.filter((c) => serverSpans("gateway", c.traceId).length === 1).length)
        .toBe(waiting.length);
    } finally {
      relay.release();
    }

    for (const c of [...leaving, ...waiting]) {
      const span = serverSpans("gateway", c.traceId)[0]!;
      expect(attr(span, "http.response.status_code")).toBe(499);
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
      const line = lines.find(
        (l) => l.service === "gateway" && l.line.trace_id === c.traceId && "res" in l.line,
      )?.line;
      expect(line).toMatchObject({
        res: { statusCode: 499 },
        aborted: true,
        span_id: span.spanContext().spanId,
      });
    }
    await expect
      .poll(() => staying.filter((c) => serverSpans("gateway", c.traceId).length === 1).length)
      .toBe(3);
    for (const c of staying)
      expect(attr(serverSpans("gateway", c.traceId)[0]!, "http.response.status_code")).toBe(200);
    // The next read is answered as usual.
    expect((await fetch(`${gw}${path}`)).status).toBe(200);
    expect(warnings.filter((w) => w.startsWith("MaxListenersExceededWarning"))).toEqual([]);
  });

  it("ends the span of a HEAD, a 304, a 429 and a 502 with its status, and logs each under its span", async () => {
    const { createClient } = await import("redis");
    const { TEST_INFRA } = await import("../support/infra.js");
    const id = await newProduct();
    const path = `${gw}/api/products/${id}`;
    const etag = (await fetch(path)).headers.get("etag")!;
    const read = async (init: RequestInit & { headers?: Record<string, string> }) => {
      const c = caller();
      const res = await fetch(path, { ...init, headers: { ...init.headers, traceparent: c.traceparent } });
      await res.arrayBuffer();
      await expect.poll(() => serverSpans("gateway", c.traceId).length).toBe(1);
      const span = serverSpans("gateway", c.traceId)[0]!;
      expect(span.parentSpanContext?.spanId).toBe(c.spanId);
      expect(requestLine(res.headers.get("x-request-id"))).toMatchObject({
        trace_id: c.traceId,
        span_id: span.spanContext().spanId,
      });
      return { status: res.status, span };
    };

    const head = await read({ method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.span.name).toBe("HEAD /api/products{/*rest}");
    const notModified = await read({ headers: { "if-none-match": etag } });
    expect(notModified.status).toBe(304);
    expect(attr(notModified.span, "http.response.status_code")).toBe(304);

    // This file's `api` counter of this client, spent.
    const redis = createClient({ url: TEST_INFRA.redisUrl });
    await redis.connect();
    const counters = await redis.keys(`${platform.redisPrefix}*ratelimit*api*`);
    expect(counters.length).toBeGreaterThan(0);
    try {
      for (const key of counters) await redis.set(key, "100000000", { KEEPTTL: true });
      const limited = await read({});
      expect(limited.status).toBe(429);
      expect(attr(limited.span, "http.response.status_code")).toBe(429);
      expect(limited.span.status.code).toBe(SpanStatusCode.UNSET);
    } finally {
      for (const key of counters) await redis.del(key);
      await redis.close();
    }

    // Product drops the connection before answering a cold read.
    const cold = await newProduct();
    cutter.cutNextAnswer("headers");
    const c = caller();
    const res = await fetch(`${gw}/api/products/${cold}`, { headers: { traceparent: c.traceparent } });
    expect(res.status).toBe(502);
    await expect.poll(() => serverSpans("gateway", c.traceId).length).toBe(1);
    const failed = serverSpans("gateway", c.traceId)[0]!;
    expect(attr(failed, "http.response.status_code")).toBe(502);
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    const lineOf = requestLine(res.headers.get("x-request-id"));
    expect(lineOf).toMatchObject({ trace_id: c.traceId, span_id: failed.spanContext().spanId });
  });

  it("logs the Redis outage it serves a read through (fail open) under that read's span", async () => {
    const id = await newProduct();
    const redisCheck = async () =>
      ((await (await fetch(`${gw}/health`)).json()) as { dependencies: { redis: string } }).dependencies
        .redis;
    relay.refuse();
    try {
      await expect.poll(redisCheck, { timeout: 15_000 }).not.toBe("ok");
      const c = caller();
      const res = await fetch(`${gw}/api/products/${id}`, { headers: { traceparent: c.traceparent } });
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit")).toBeNull();
      await expect.poll(() => serverSpans("gateway", c.traceId).length).toBe(1);
      const span = serverSpans("gateway", c.traceId)[0]!;
      // The first such warning of this gateway: one per half minute, and no other test makes it.
      const warning = lines.find((l) => l.service === "gateway" && l.line.msg === RATE_LIMIT_WARNING)?.line;
      expect(warning).toMatchObject({ trace_id: c.traceId, span_id: span.spanContext().spanId });
    } finally {
      relay.restore();
    }
    await expect.poll(redisCheck, { timeout: 15_000 }).toBe("ok");
  });

  it("names the read whose answer product cut off, not the request that opened the pooled connection", async () => {
    const [first, second] = [await newProduct(), await newProduct()];
    // A read on the gateway's keep-alive connection to product, then another on the same one,
    // whose answer product breaks off after its head.
    const a = caller();
    const ok = await fetch(`${gw}/api/products/${first}`, { headers: { traceparent: a.traceparent } });
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    cutter.cutNextAnswer("body");
    const b = caller();
    const cut = await fetch(`${gw}/api/products/${second}`, { headers: { traceparent: b.traceparent } });
    expect(cut.status).toBe(200);
    await expect(cut.arrayBuffer()).rejects.toThrow();
    await expect
      .poll(() => lines.find((l) => l.service === "gateway" && l.line.msg === "upstream answer cut off"))
      .toBeDefined();
    await expect.poll(() => serverSpans("gateway", b.traceId).length).toBe(1);
    const line = lines.find((l) => l.service === "gateway" && l.line.msg === "upstream answer cut off")!.line;
    expect(line).toMatchObject({
      requestId: cut.headers.get("x-request-id"),
      trace_id: b.traceId,
      span_id: serverSpans("gateway", b.traceId)[0]!.spanContext().spanId,
    });
  });

  it("still hands every other request and server event to its listeners, the instrumentation's spans included", async () => {
    // A read with an Origin goes to Express, traced by the HTTP instrumentation.
    const c = caller();
    const viaExpress = await fetch(`${gw}/api/products?limit=1`, {
      headers: { traceparent: c.traceparent, origin: "https://elsewhere.example" },
    });
    expect(viaExpress.status).toBe(200);
    await expect.poll(() => serverSpans("gateway", c.traceId).length).toBe(1);
    expect(serverSpans("gateway", c.traceId)[0]!.name).toBe("GET /api/products{/*rest}");
    expect(serverSpans("gateway", c.traceId)[0]!.parentSpanContext?.spanId).toBe(c.spanId);

    // An upgrade reaches the gateway's WebSocket handler (which wants a token).
    const upgrade = rawGet("/api/notifications/ws", {
      Connection: "Upgrade",
      Upgrade: "websocket",
      "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
      "Sec-WebSocket-Version": "13",
    });
    await expect.poll(upgrade.status).toBe(401);
    upgrade.socket.destroy();
    // A malformed request gets node's own 400 (clientError).
    const malformed = rawGet("/api/products", { "Bad Header": "x" });
    await expect.poll(malformed.status).toBe(400);
    malformed.socket.destroy();
  });
});
