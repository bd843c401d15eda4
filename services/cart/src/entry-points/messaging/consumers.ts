import { type Broker, type Logger, parseEventData } from "@shopstream/runtime";
import { z } from "zod";
import type { Cart } from "../../domain/cart.js";
import { ORDER_CREATED } from "../../domain/events.js";
import { uuid } from "../http/schemas.js";

/** The cart's queue, as MESSAGING in infra/src/model/constants.ts declares it. */
export const ORDER_CREATED_QUEUE = { name: "cart.order-created", bindings: [ORDER_CREATED] };

const orderCreated = z.object({
  orderId: z.string().min(1),
  userId: uuid,
  items: z.array(z.object({ productId: uuid, quantity: z.number().int().positive() })),
});

export async function startConsumers(deps: { broker: Broker; cart: Cart; logger: Logger }): Promise<void> {
  await deps.broker.consume(ORDER_CREATED_QUEUE.name, ORDER_CREATED_QUEUE.bindings, async (event) => {
    // Invalid data can never succeed: parseEventData dead-letters it at once.
    const { orderId, userId, items } = parseEventData(orderCreated, event);
    // The same per-order marker as the checkout's synchronous removal: usually the checkout has
    // applied it already and this is a no-op; it applies when that call failed.
    const applied = await deps.cart.removeOrdered(userId, orderId, items, { eventId: event.id });
    deps.logger.info(
      { eventId: event.id, orderId, userId, applied },
      applied ? "ordered items removed from the cart" : "order applied before; cart left as is",
    );
  });
}
