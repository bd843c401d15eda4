import { randomBytes } from "node:crypto";
import { SpanKind } from "@opentelemetry/api";
import { installTestTracing } from "@shopstream/runtime/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppName } from "../support/platform.js";
import type { Shop } from "./shop.js";

// Before any service starts or any client library loads (the platform loads Redis's, and the
// Redis instrumentation patches its modules as they load): every service here shares it.
const exporter = installTestTracing();
type ReadableSpan = ReturnType<typeof exporter.getFinishedSpans>[number];
const lines: { service: AppName; line: Record<string, unknown> }[] = [];

let shop: Shop;

beforeAll(async () => {
  const debug = { LOG_LEVEL: "debug" };
  const { startShop } = await import("./shop.js");
  shop = await startShop({
    label: "tracing",
    env: {
      gateway: debug,
      order: debug,
      product: debug,
      payment: debug,
      notification: debug,
      cart: debug,
      analytics: debug,
    },
    logs: (service, line) => lines.push({ service, line: JSON.parse(line) as Record<string, unknown> }),
  });
});

afterAll(async () => {
  await shop?.stop();
});

const SERVICE = "shopstream.service";
const attr = (s: ReadableSpan, key: string) => s.attributes[key];
const parentId = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describe("one checkout is one trace", () => {
  it("follows gateway → order → product (reserve) → outbox publish → payment → order → notification, each span under the right parent", async () => {
    const buyer = await shop.newBuyer();
    const product = await shop.createProduct({ stock: 5, priceCents: 1200 });
    await shop.addToCart(buyer, product.id, 1);

    const traceId = randomBytes(16).toString("hex");
    const callerSpan = randomBytes(8).toString("hex");
    exporter.reset();
    const res = await shop.call("/orders", {
      token: buyer.token,
      body: { paymentToken: "tok_visa" },
      headers: { "idempotency-key": crypto.randomUUID(), traceparent: `00-${traceId}-${callerSpan}-01` },
    });
    expect(res.status).toBe(201);
    const orderId = res.body.id as string;

    const inTrace = () => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const consumed = (service: string, routingKey: string) =>
      inTrace().find(
        (s) =>
          s.kind === SpanKind.CONSUMER &&
          attr(s, SERVICE) === service &&
          attr(s, "messaging.rabbitmq.destination.routing_key") === routingKey,
      );
    // The last hop: notification's consumer of order.paid has finished.
    await expect.poll(() => consumed("notification", "order.paid"), { timeout: 15_000 }).toBeDefined();

    const spans = inTrace();
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    /** The chain of parents from `s` up to the root of the trace in this process. */
    const ancestors = (s: ReadableSpan) => {
      const out: ReadableSpan[] = [];
      for (let p = byId.get(parentId(s) ?? ""); p; p = byId.get(parentId(p) ?? "")) out.push(p);
      return out;
    };
    const server = (service: string, name: string) =>
      spans.find((s) => s.kind === SpanKind.SERVER && attr(s, SERVICE) === service && s.name === name);
    const published = (routingKey: string) =>
      spans.find(
        (s) =>
          s.kind === SpanKind.PRODUCER &&
          attr(s, "messaging.rabbitmq.destination.routing_key") === routingKey,
      );

    // gateway: its server span continues the caller's traceparent.
    const gateway = spans.find(
      (s) =>
        s.kind === SpanKind.SERVER && attr(s, SERVICE) === "gateway" && s.name.startsWith("POST /api/orders"),
    );
    expect(gateway, spans.map((s) => `${s.name} ${attr(s, SERVICE)}`).join("\n")).toBeDefined();
    expect(parentId(gateway!)).toBe(callerSpan);

    // order: under the gateway's client span (the proxied call).
    const order = server("order", "POST /orders")!;
    expect(order).toBeDefined();
    const gatewayCall = byId.get(parentId(order)!)!;
    expect(gatewayCall.kind).toBe(SpanKind.CLIENT);
    expect(parentId(gatewayCall)).toBe(gateway!.spanContext().spanId);

    // product's reservation: under order's client call, itself inside order's server span.
    const reserve = spans.find(
      (s) => s.kind === SpanKind.SERVER && attr(s, SERVICE) === "product" && /reserv/.test(s.name),
    )!;
    expect(reserve, spans.map((s) => `${s.name} ${attr(s, SERVICE)}`).join("\n")).toBeDefined();
    const reserveCall = byId.get(parentId(reserve)!)!;
    expect(reserveCall.kind).toBe(SpanKind.CLIENT);
    expect(ancestors(reserveCall)).toContain(order);

    // The outbox relay publishes order.created in the checkout's trace, under order's span.
    const created = published("order.created")!;
    expect(created).toBeDefined();
    expect(attr(created, "messaging.message.id")).toBeTruthy();
    expect(ancestors(created)).toContain(order);

    // payment consumes it, and publishes its result from its own outbox.
    const pay = consumed("payment", "order.created")!;
    expect(parentId(pay)).toBe(created.spanContext().spanId);
    const completed = published("payment.completed")!;
    expect(ancestors(completed)).toContain(pay);

    // order consumes the result and publishes order.paid, which notification consumes.
    const orderConsume = consumed("order", "payment.completed")!;
    expect(parentId(orderConsume)).toBe(completed.spanContext().spanId);
    const paid = published("order.paid")!;
    expect(ancestors(paid)).toContain(orderConsume);
    const notify = consumed("notification", "order.paid")!;
    expect(parentId(notify)).toBe(paid.spanContext().spanId);

    // The stores show up inside the trace too.
    expect(spans.some((s) => attr(s, "db.system.name") === "mariadb" && ancestors(s).includes(order))).toBe(
      true,
    );
    expect(spans.some((s) => attr(s, "db.system.name") === "redis")).toBe(true);

    // Every service the purchase reached logged under the caller's trace id, and every line
    // about this order or its request carries it.
    const traced = lines.filter((l) => l.line.trace_id === traceId);
    const services = new Set(traced.map((l) => l.service));
    for (const s of ["gateway", "order", "product", "payment", "notification"] as const)
      expect(services, `${s} logged nothing in the trace`).toContain(s);
    const requestId = res.headers.get("x-request-id");
    const aboutIt = lines.filter(
      (l) => l.line.reqId === requestId || JSON.stringify(l.line).includes(orderId),
    );
    expect(aboutIt.length).toBeGreaterThan(0);
    for (const l of aboutIt) expect(l.line.trace_id, JSON.stringify(l.line)).toBe(traceId);
    for (const l of traced) expect(l.line.span_id).toMatch(/^[0-9a-f]{16}$/);
  });

  it("starts a fresh trace for a request without traceparent, and a bad traceparent is ignored rather than refused", async () => {
    exporter.reset();
    const res = await shop.call("/products?limit=1", { headers: { traceparent: "00-not-a-trace-01" } });
    expect(res.status).toBe(200);
    const span = await expect
      .poll(() =>
        exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER && attr(s, SERVICE) === "gateway"),
      )
      .toBeDefined();
    void span;
    const gateway = exporter
      .getFinishedSpans()
      .find((s) => s.kind === SpanKind.SERVER && attr(s, SERVICE) === "gateway")!;
    expect(gateway.parentSpanContext).toBeUndefined();
    expect(gateway.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe("a cached catalog read (the gateway's hot path, traced by hand)", () => {
  it("is one gateway SERVER span continuing the caller's trace, with product under it on a miss and alone on a hit", async () => {
    const product = await shop.createProduct({ stock: 3 });
    const path = `/products/${product.id}`;
    const read = async () => {
      const traceId = randomBytes(16).toString("hex");
      const callerSpan = randomBytes(8).toString("hex");
      const res = await shop.call(path, { headers: { traceparent: `00-${traceId}-${callerSpan}-01` } });
      expect(res.status).toBe(200);
      const gatewayServer = () =>
        exporter
          .getFinishedSpans()
          .filter(
            (s) =>
              s.spanContext().traceId === traceId &&
              s.kind === SpanKind.SERVER &&
              attr(s, SERVICE) === "gateway",
          );
      await expect.poll(() => gatewayServer().length).toBeGreaterThan(0);
      const inTrace = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
      return {
        traceId,
        callerSpan,
        inTrace,
        gateway: gatewayServer(),
        requestId: res.headers.get("x-request-id"),
      };
    };

    // The first read of a new product misses the gateway's cache and goes to product.
    const miss = await read();
    const names = miss.inTrace.map((s) => `${s.name} ${attr(s, SERVICE)}`).join("\n");
    // Exactly one: the HTTP instrumentation does not make a second, unnamed one.
    expect(miss.gateway, names).toHaveLength(1);
    const gateway = miss.gateway[0]!;
    expect(gateway.name).toBe("GET /api/products{/*rest}");
    expect(parentId(gateway)).toBe(miss.callerSpan);
    expect(attr(gateway, "http.route")).toBe("/api/products{/*rest}");
    expect(attr(gateway, "http.response.status_code")).toBe(200);
    await expect
      .poll(() =>
        exporter
          .getFinishedSpans()
          .find(
            (s) =>
              s.spanContext().traceId === miss.traceId &&
              s.kind === SpanKind.SERVER &&
              attr(s, SERVICE) === "product",
          ),
      )
      .toBeDefined();
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === miss.traceId);
    const productSpan = spans.find((s) => s.kind === SpanKind.SERVER && attr(s, SERVICE) === "product")!;
    const call = spans.find((s) => s.spanContext().spanId === parentId(productSpan))!;
    expect(call.kind).toBe(SpanKind.CLIENT);
    expect(parentId(call)).toBe(gateway.spanContext().spanId);

    // The same read again is answered from the cache: the gateway's span alone.
    const hit = await read();
    expect(hit.gateway).toHaveLength(1);
    expect(parentId(hit.gateway[0]!)).toBe(hit.callerSpan);
    expect(hit.inTrace.filter((s) => attr(s, SERVICE) === "product")).toEqual([]);

    // Its log line carries the trace and the span.
    const line = lines.find((l) => l.service === "gateway" && l.line.reqId === hit.requestId)?.line;
    expect(line?.trace_id).toBe(hit.traceId);
    expect(line?.span_id).toBe(hit.gateway[0]!.spanContext().spanId);
  });
});
