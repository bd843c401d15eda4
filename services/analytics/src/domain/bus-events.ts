import { type EventEnvelope, parseEventData } from "@shopstream/runtime";
import { z } from "zod";
import type { Increment } from "./increments.js";

/** The status an `order.*` event moves an order to (docs/architecture.md, "The public API in brief"). */
const ORDER_STATUS_BY_TYPE: Record<string, string> = {
  "order.created": "pending",
  "order.paid": "paid",
  "order.payment_failed": "payment_failed",
  "order.cancelled": "cancelled",
  "order.shipped": "shipped",
  "order.delivered": "delivered",
};
const FAILURE_REASONS = new Set(["card_declined", "insufficient_funds"]);
/** `order.created`, `payment.failed`...: anything else is counted as `other`, bounding the label. */
const EVENT_TYPE = /^[a-z][a-z0-9_]{0,30}(\.[a-z][a-z0-9_]{0,30}){1,2}$/;

const id = z.string().min(1).max(64);
const cents = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const orderEvent = z.object({ orderId: id });
const paidEvent = z.object({ orderId: id, totalCents: cents });
const paymentFailed = z.object({ orderId: id, reason: z.string().min(1).max(100) });
const cartItemAdded = z.object({ productId: id, quantity: z.number().int().min(1) });

export const eventTypeLabel = (type: string) => (EVENT_TYPE.test(type) ? type : "other");

/**
 * What one event on the bus adds to the business counters. Data that a counted event cannot do
 * without (an `order.paid` without its total) is an UnprocessableEventError: dead-lettered,
 * counted nowhere, rather than counted wrong.
 */
export function busEventIncrements(event: EventEnvelope): Increment[] {
  const out: Increment[] = [
    { metric: "events_total", labels: { type: eventTypeLabel(event.type), source: "bus" }, by: 1 },
  ];
  const status = ORDER_STATUS_BY_TYPE[event.type];
  if (status) {
    if (event.type === "order.paid") {
      const { totalCents } = parseEventData(paidEvent, event);
      out.push({ metric: "revenue_cents_total", labels: {}, by: totalCents });
    } else {
      parseEventData(orderEvent, event);
    }
    out.push({ metric: "orders_total", labels: { status }, by: 1 });
  } else if (event.type === "payment.failed") {
    const { reason } = parseEventData(paymentFailed, event);
    out.push({
      metric: "payment_failures_total",
      labels: { reason: FAILURE_REASONS.has(reason) ? reason : "other" },
      by: 1,
    });
  } else if (event.type === "cart.item_added") {
    parseEventData(cartItemAdded, event);
    out.push({ metric: "cart_additions_total", labels: {}, by: 1 });
  }
  return out;
}
