/**
 * The AsyncAPI document of the events (docs/asyncapi.json): current, valid AsyncAPI 3.0, and true
 * to the topology the platform declares. What services publish is checked against it by every
 * test platform's tap (test/support/platform.ts), what consumers are sent by `openPublisher`.
 */

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv } from "ajv";
import { afterAll, describe, expect, it } from "vitest";
import { MESSAGING } from "../../infra/src/model/index.js";
import {
  ASYNCAPI_FILE,
  EVENTS_DOC,
  eventsOfQueue,
  renderAsyncApi,
  topicMatches,
  withEventsTable,
} from "../../scripts/openapi/asyncapi.js";
import { SPEC_VERSION } from "../../scripts/openapi/document.js";
import { orderCreatedEvent, orderStatusEvent } from "../../services/order/src/domain/order.js";
import { paymentEvent, refundEvent } from "../../services/payment/src/domain/payment.js";
import { domainEvent, EVENT_TYPES } from "../../services/runtime/src/index.js";
import { openPublisher } from "../notification/bus.js";
import { ASYNCAPI_DOCUMENT, eventProblems, tapEvents } from "../support/event-contract.js";
import { testBroker } from "../support/infra.js";

const require = createRequire(import.meta.url);

describe("the AsyncAPI document", () => {
  it("is what `npm run openapi` writes from the event schemas and the model", () => {
    expect(readFileSync(ASYNCAPI_FILE, "utf8")).toBe(renderAsyncApi(SPEC_VERSION));
  });

  it("is listed, event by event, in docs/events.md", () => {
    const doc = readFileSync(EVENTS_DOC, "utf8");
    expect(doc).toBe(withEventsTable(doc));
    for (const type of EVENT_TYPES) expect(doc).toContain(`| \`${type}\` |`);
  });

  it("is valid AsyncAPI 3.0 (the specification's own JSON Schema)", () => {
    const schema = require("@asyncapi/specs/schemas/3.0.0.json");
    // The specification bundles JSON Schema draft-07 itself: ajv must not add its own copy.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, meta: false });
    const validate = ajv.compile(schema);
    const valid = validate(ASYNCAPI_DOCUMENT);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it("documents exactly the routing keys the services publish, each bound to a consumer queue", () => {
    expect(Object.values(MESSAGING.publishers).flat().sort()).toEqual([...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES)
      expect(
        MESSAGING.queues.filter((q) => q.bindings.some((b) => topicMatches(b, type))),
        type,
      ).not.toEqual([]);
    // A binding that routes nothing documented is a consumer waiting for an event nobody sends.
    for (const q of MESSAGING.queues) expect(eventsOfQueue(q.bindings), q.name).not.toEqual([]);
  });

  it("lists for each consumer queue the events its bindings route to it", () => {
    const received = (queue: string) =>
      Object.keys(ASYNCAPI_DOCUMENT.channels[`queue.${queue}`].messages).sort();
    expect(received("order.payment-events")).toEqual([
      "payment.completed",
      "payment.failed",
      "payment.refunded",
    ]);
    expect(received("product.stock-release")).toEqual(["order.cancelled", "order.payment_failed"]);
    expect(received("notification.events")).toEqual(
      EVENT_TYPES.filter((t) => t.startsWith("order.") || t.startsWith("payment.")).sort(),
    );
    expect(received("analytics.events")).toEqual([...EVENT_TYPES].sort());
  });

  it("matches AMQP topic bindings as the broker does", () => {
    expect(topicMatches("order.*", "order.paid")).toBe(true);
    expect(topicMatches("order.*", "order.paid.late")).toBe(false);
    expect(topicMatches("#", "cart.item_added")).toBe(true);
    expect(topicMatches("order.#", "order")).toBe(true);
    expect(topicMatches("*.created", "order.created")).toBe(true);
    expect(topicMatches("payment.*", "order.paid")).toBe(false);
  });
});

describe("the publishers' events", () => {
  const order = {
    id: randomUUID(),
    userId: randomUUID(),
    status: "paid" as const,
    items: [{ productId: randomUUID(), name: "Desk lamp", unitPriceCents: 2500, quantity: 2 }],
    totalCents: 5000,
    currency: "EUR",
    paymentToken: "tok_visa",
    paymentId: randomUUID(),
    failureReason: null,
    createdAt: new Date(),
    updatedAt: new Date(),
  };
  const payment = {
    id: randomUUID(),
    orderId: order.id,
    userId: order.userId,
    amountCents: 5000,
    currency: "EUR",
    status: "completed" as const,
    token: "tok_visa",
    failureReason: null,
    eventId: randomUUID(),
    createdAt: new Date(),
  };

  it("validate against the document, as each builder makes them", () => {
    const events = [
      orderCreatedEvent({ ...order, status: "pending" }),
      orderStatusEvent(order),
      orderStatusEvent({ ...order, status: "payment_failed", failureReason: "card_declined" }),
      paymentEvent(payment),
      paymentEvent({ ...payment, status: "failed", failureReason: "insufficient_funds" }),
      refundEvent({
        orderId: order.id,
        userId: order.userId,
        paymentId: payment.id,
        amountCents: 5000,
        currency: "EUR",
      }),
      domainEvent("product.changed", { productId: randomUUID() }),
      domainEvent("cart.item_added", { userId: order.userId, productId: randomUUID(), quantity: 1 }),
    ];
    for (const event of events) expect(eventProblems(event.type, event), event.type).toEqual([]);
  });

  it("are refused by the document when they drift: a missing field, a wrong type, an unknown key", () => {
    const paid = orderStatusEvent(order);
    const { totalCents: _, ...withoutTotal } = paid.data as Record<string, unknown>;
    expect(eventProblems("order.paid", { ...paid, data: withoutTotal }).join()).toMatch(/totalCents/);
    expect(eventProblems("order.paid", { ...paid, data: { ...paid.data, totalCents: "50.00" } })).not.toEqual(
      [],
    );
    expect(eventProblems("order.paid", { ...paid, type: "order.shipped" })).not.toEqual([]);
    expect(eventProblems("order.refunded", paid)).toEqual([
      "order.refunded is not an event of docs/asyncapi.json",
    ]);
  });
});

describe("a tap on an exchange", () => {
  const broker = testBroker("asyncapi-tap");
  afterAll(() => broker.cleanup([]));

  it("reports what was published there undocumented, and nothing for documented events", async () => {
    const tap = await tapEvents(broker.exchange);
    const bus = await openPublisher(broker.exchange);
    try {
      const good = domainEvent("product.deleted", { productId: randomUUID() });
      const bad = domainEvent("product.deleted", { productId: "not-a-uuid" });
      await bus.publish(good);
      // The consumers' tests cannot send what no publisher would...
      await expect(bus.publish(bad)).rejects.toThrow(/productId/);
      // ...unless on purpose, marked so the tap lets it pass;
      await bus.publishUndocumented(bad);
      await bus.publishRaw("order.paid", "{not json");
      // anything else undocumented on the exchange is reported.
      bus.channel.publish(broker.exchange, bad.type, Buffer.from(JSON.stringify(bad)));
      bus.channel.publish(broker.exchange, "order.paid", Buffer.from("{not json"));
      bus.channel.publish(broker.exchange, "order.refunded", Buffer.from(JSON.stringify(good)));
      await bus.channel.waitForConfirms();
      await expect.poll(() => tap.seen(), { timeout: 5_000 }).toBe(6);
      const problems = tap.problems();
      expect(
        problems.filter((p) => p.startsWith("product.deleted: /data/productId ")).length,
      ).toBeGreaterThan(0);
      expect(problems).toContain("order.paid: not JSON");
      expect(problems).toContain("order.refunded is not an event of docs/asyncapi.json");
      expect(
        problems.filter(
          (p) =>
            !/^product\.deleted: \/data\/productId |^order\.paid: not JSON$|^order\.refunded is not/.test(p),
        ),
      ).toEqual([]);
    } finally {
      await bus.close();
      await tap.close();
    }
  });
});
