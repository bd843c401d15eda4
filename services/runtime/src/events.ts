/**
 * The events on `shopstream.events`: one zod schema per routing key for what its publisher sends
 * in `data`. Publishers build their events with `domainEvent`, so TypeScript refuses one that
 * drifts from its schema; `npm run openapi` renders these schemas as the AsyncAPI 3 document
 * (docs/asyncapi.json, docs/events.md). Consumers keep their own, more tolerant readers
 * (`parseEventData`): a consumer reads the fields it needs and ignores the rest.
 */
import { z } from "zod";
import { createEvent, type EventEnvelope } from "./messaging.js";

const uuid = z.uuid();
const cents = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const currency = z
  .string()
  .regex(/^[A-Z]{3}$/)
  .meta({ description: "ISO 4217 code", examples: ["EUR"] });
const quantity = z.int().min(1);

const orderItem = z.strictObject({
  productId: uuid,
  name: z.string().min(1),
  unitPriceCents: cents,
  quantity,
});
const orderStatus = z.enum(["pending", "paid", "payment_failed", "cancelled", "shipped", "delivered"]);
const paymentFailureReason = z.enum(["card_declined", "insufficient_funds"]);

const orderChanged = (status: z.infer<typeof orderStatus>, description: string) =>
  z
    .strictObject({
      orderId: uuid,
      userId: uuid,
      status: z.literal(status),
      totalCents: cents,
      currency,
      items: z.array(orderItem).min(1),
      failureReason: z
        .string()
        .min(1)
        .optional()
        .meta({ description: "Why the payment failed (order.payment_failed only)" }),
    })
    .meta({ description });

const productRef = (description: string) => z.strictObject({ productId: uuid }).meta({ description });

/** Every routing key on the exchange and the schema of its `data`. */
export const EVENT_SCHEMAS = {
  "order.created": z
    .strictObject({
      orderId: uuid,
      userId: uuid,
      status: z.literal("pending"),
      items: z.array(orderItem).min(1),
      totalCents: cents,
      currency,
      paymentToken: z.string().min(1).meta({ description: "The card token to charge (test tokens: tok_*)" }),
    })
    .meta({ description: "An order was placed with its stock reserved; payment charges it." }),
  "order.paid": orderChanged("paid", "The order's payment completed."),
  "order.payment_failed": orderChanged(
    "payment_failed",
    "The order's payment failed; product releases its stock.",
  ),
  "order.cancelled": orderChanged(
    "cancelled",
    "The order was cancelled; product releases its stock and payment voids or refunds it.",
  ),
  "order.shipped": orderChanged("shipped", "An admin marked the order shipped."),
  "order.delivered": orderChanged("delivered", "An admin marked the order delivered."),
  "payment.completed": z
    .strictObject({ orderId: uuid, userId: uuid, paymentId: uuid, amountCents: cents, currency })
    .meta({ description: "The order's card was charged." }),
  "payment.failed": z
    .strictObject({ orderId: uuid, userId: uuid, paymentId: uuid, reason: paymentFailureReason })
    .meta({ description: "The order's card was refused." }),
  "payment.refunded": z
    .strictObject({
      orderId: uuid,
      userId: uuid,
      paymentId: uuid,
      amountCents: cents,
      currency,
      status: z.literal("refunded"),
    })
    .meta({ description: "A charge that completed for an order cancelled meanwhile was given back." }),
  "product.changed": productRef("A product was created or changed; the search index re-reads it."),
  "product.deleted": productRef("A product was deleted; the search index drops it."),
  "cart.item_added": z
    .strictObject({ userId: uuid, productId: uuid, quantity })
    .meta({ description: "A signed-in buyer added a product to their cart (best effort, for analytics)." }),
} as const;

export type EventType = keyof typeof EVENT_SCHEMAS;
export type EventData<K extends EventType> = z.input<(typeof EVENT_SCHEMAS)[K]>;
export const EVENT_TYPES = Object.keys(EVENT_SCHEMAS) as EventType[];

/** The envelope every event travels in; `data` is the schema of its routing key. */
export const eventEnvelopeSchema = <S extends z.ZodType>(data: S) =>
  z.strictObject({
    id: z.string().min(1).max(64).meta({ description: "Unique per event: consumers deduplicate on it" }),
    type: z.string().meta({ description: "The routing key" }),
    occurredAt: z.iso.datetime(),
    data,
  });

/** A documented event, its data checked by the compiler against `EVENT_SCHEMAS`. */
export function domainEvent<K extends EventType>(
  type: K,
  data: EventData<K>,
  id?: string,
): EventEnvelope<EventData<K>> {
  return createEvent(type, data, id);
}
