import { type Broker, type EventEnvelope, parseEventData } from "@shopstream/runtime";
import { z } from "zod";
import { type ChargeDeps, cancelPayment, chargeOrder } from "../../domain/charge.js";

/** `payment.order-created` in MESSAGING (infra/src/model/constants.ts); a test keeps them equal. */
export const ORDER_CREATED_QUEUE = { name: "payment.order-created", bindings: ["order.created"] };
/** `payment.order-cancelled` in MESSAGING: voids or refunds the payment of a cancelled order. */
export const ORDER_CANCELLED_QUEUE = { name: "payment.order-cancelled", bindings: ["order.cancelled"] };

const id = z.string().min(1).max(64);
const orderCreated = z.object({
  orderId: id,
  userId: id,
  totalCents: z.number().int().nonnegative(),
  currency: z.string().length(3),
  paymentToken: z.string().min(1).max(100),
});

/** Charges every created order; data that fails validation is dead-lettered at once. */
export async function consumeOrderCreated(broker: Broker, deps: ChargeDeps): Promise<void> {
  await broker.consume(
    ORDER_CREATED_QUEUE.name,
    ORDER_CREATED_QUEUE.bindings,
    async (event: EventEnvelope) => {
      if (event.type !== "order.created") return;
      await chargeOrder(deps, event.id, parseEventData(orderCreated, event));
    },
  );
}

const orderCancelled = z.object({
  orderId: id,
  userId: id,
  totalCents: z.number().int().nonnegative(),
  currency: z.string().length(3),
});

/** Voids the payment of a cancelled order, or refunds it when the charge completed first. */
export async function consumeOrderCancelled(broker: Broker, deps: ChargeDeps): Promise<void> {
  await broker.consume(
    ORDER_CANCELLED_QUEUE.name,
    ORDER_CANCELLED_QUEUE.bindings,
    async (event: EventEnvelope) => {
      if (event.type !== "order.cancelled") return;
      await cancelPayment(deps, event.id, parseEventData(orderCancelled, event));
    },
  );
}
