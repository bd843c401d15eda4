import { type Broker, type EventEnvelope, parseEventData } from "@shopstream/runtime";
import { z } from "zod";
import { applyPayment, applyRefund, type OrderDeps } from "../../domain/order-actions.js";

/** `order.payment-events` in MESSAGING (infra/src/model/constants.ts); a test keeps them equal. */
export const PAYMENT_EVENTS_QUEUE = {
  name: "order.payment-events",
  bindings: ["payment.completed", "payment.failed", "payment.refunded"],
};

const id = z.string().min(1).max(64);
const completed = z.object({ orderId: id, userId: id, paymentId: id });
const refunded = z.object({ orderId: id, userId: id, paymentId: id });
const failed = z.object({ orderId: id, userId: id, paymentId: id, reason: z.string().min(1).max(100) });

/** Turns `payment.completed` / `payment.failed` into paid / payment_failed orders. */
export async function consumePaymentEvents(broker: Broker, deps: OrderDeps): Promise<void> {
  await broker.consume(
    PAYMENT_EVENTS_QUEUE.name,
    PAYMENT_EVENTS_QUEUE.bindings,
    async (event: EventEnvelope) => {
      if (event.type === "payment.completed") {
        const data = parseEventData(completed, event);
        await applyPayment(deps, event.id, event.type, { ...data, result: "completed" });
      } else if (event.type === "payment.failed") {
        const data = parseEventData(failed, event);
        await applyPayment(deps, event.id, event.type, { ...data, result: "failed" });
      } else if (event.type === "payment.refunded") {
        await applyRefund(deps, event.id, parseEventData(refunded, event));
      } else {
        deps.logger.debug({ eventId: event.id, type: event.type }, "event not for this consumer; skipped");
      }
    },
  );
}
