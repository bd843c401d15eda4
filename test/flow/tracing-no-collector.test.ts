/**
 * Tracing as `npm run dev` runs it: no OTLP endpoint, so nothing is exported and no span is
 * recorded, yet every request has a trace id that crosses the services and reaches their logs
 * (docs/tracing.md). The services install the SDK themselves here, from the env the model renders.
 */
import { randomBytes } from "node:crypto";
import { trace } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppName } from "../support/platform.js";
import { type Shop, startShop } from "./shop.js";

const lines: { service: AppName; line: Record<string, unknown> }[] = [];
let shop: Shop;

beforeAll(async () => {
  const debug = { LOG_LEVEL: "debug" };
  shop = await startShop({
    label: "tracenocol",
    env: { gateway: debug, order: debug, cart: debug, product: debug },
    logs: (service, line) => lines.push({ service, line: JSON.parse(line) as Record<string, unknown> }),
  });
});

afterAll(async () => {
  await shop?.stop();
});

describe("tracing without a collector", () => {
  it("records no span, yet a caller's trace id reaches every service's log lines", async () => {
    const buyer = await shop.newBuyer();
    const traceId = randomBytes(16).toString("hex");
    const res = await shop.call("/orders", {
      token: buyer.token,
      headers: { traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` },
    });
    expect(res.status).toBe(200);
    const services = new Set(lines.filter((l) => l.line.trace_id === traceId).map((l) => l.service));
    expect([...services].sort()).toEqual(expect.arrayContaining(["gateway", "order"]));

    // The provider the services installed makes non-recording spans: ids, nothing else.
    const span = trace.getTracer("probe").startSpan("probe");
    expect(span.isRecording()).toBe(false);
    expect(span.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span.spanContext().traceId).not.toBe("0".repeat(32));
    span.end();
  });

  it("gives a catalog read answered by the gateway's hot path the caller's trace id, in the gateway's log and in product's on a miss", async () => {
    const product = await shop.createProduct({ stock: 2 });
    const traceId = randomBytes(16).toString("hex");
    const res = await shop.call(`/products/${product.id}`, {
      headers: { traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` },
    });
    expect(res.status).toBe(200);
    const requestId = res.headers.get("x-request-id");
    const gateway = lines.find((l) => l.service === "gateway" && l.line.reqId === requestId);
    expect(gateway?.line.trace_id).toBe(traceId);
    expect(gateway?.line.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(lines.some((l) => l.service === "product" && l.line.trace_id === traceId)).toBe(true);
  });

  it("gives a request without traceparent a trace id of its own, the same in each service it reaches", async () => {
    const buyer = await shop.newBuyer();
    lines.length = 0;
    const res = await shop.call("/orders", { token: buyer.token });
    expect(res.status).toBe(200);
    const requestId = res.headers.get("x-request-id");
    const gateway = lines.find((l) => l.service === "gateway" && l.line.reqId === requestId);
    const traceId = gateway?.line.trace_id;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(lines.some((l) => l.service === "order" && l.line.trace_id === traceId)).toBe(true);
  });
});
