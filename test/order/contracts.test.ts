import { MESSAGING } from "@shopstream/infra/model";
import { describe, expect, it } from "vitest";
import { canTransition, ORDER_STATUSES } from "../../services/order/src/domain/order.js";
import { PAYMENT_EVENTS_QUEUE } from "../../services/order/src/entry-points/messaging/consumers.js";
import { decide } from "../../services/payment/src/domain/payment.js";
import {
  ORDER_CANCELLED_QUEUE,
  ORDER_CREATED_QUEUE,
} from "../../services/payment/src/entry-points/messaging/consumers.js";

describe("order and payment follow the platform's contracts", () => {
  it("consume exactly the queues and bindings the platform model declares", () => {
    const model = (name: string) => MESSAGING.queues.find((q) => q.name === name);
    expect(model(PAYMENT_EVENTS_QUEUE.name)).toMatchObject({
      consumer: "order",
      bindings: PAYMENT_EVENTS_QUEUE.bindings,
    });
    expect(model(ORDER_CREATED_QUEUE.name)).toMatchObject({
      consumer: "payment",
      bindings: ORDER_CREATED_QUEUE.bindings,
    });
    expect(model(ORDER_CANCELLED_QUEUE.name)).toMatchObject({
      consumer: "payment",
      bindings: ORDER_CANCELLED_QUEUE.bindings,
    });
  });

  it("an order moves only along the arrows of docs/architecture.md", () => {
    const allowed = new Set([
      "pending>paid",
      "pending>payment_failed",
      "pending>cancelled",
      "paid>shipped",
      "shipped>delivered",
    ]);
    for (const from of ORDER_STATUSES) {
      for (const to of ORDER_STATUSES) {
        expect(canTransition(from, to), `${from} -> ${to}`).toBe(allowed.has(`${from}>${to}`));
      }
    }
  });

  it("the mock processor decides by the public test tokens", () => {
    expect(decide("tok_visa")).toEqual({ result: "completed" });
    expect(decide("tok_chargeDeclined")).toEqual({ result: "failed", reason: "card_declined" });
    expect(decide("tok_insufficientFunds")).toEqual({ result: "failed", reason: "insufficient_funds" });
  });
});
