import { problem, type ServiceApi, uuidParam } from "@shopstream/runtime";
import { z } from "zod";
import { ORDER_STATUSES, PAYMENT_TOKENS } from "../../domain/order.js";
import { checkoutBody, listQuery, statusBody } from "./order-routes.js";

/** An order as `orderJson` renders it. */
export const orderSchema = z.object({
  id: z.uuid(),
  userId: z.string(),
  status: z.enum(ORDER_STATUSES),
  items: z.array(
    z.object({
      productId: z.string(),
      name: z.string(),
      unitPriceCents: z.number().int().min(0),
      quantity: z.number().int().min(1),
      lineTotalCents: z.number().int().min(0),
    }),
  ),
  totalCents: z.number().int().min(0),
  currency: z.string(),
  paymentToken: z.string().optional(),
  failureReason: z.string().optional().describe("Why the payment failed"),
  refundedAt: z.iso
    .datetime({ offset: true })
    .optional()
    .describe("When the payment of this cancelled order was refunded"),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
});

export const orderPageSchema = z.object({
  items: z.array(orderSchema),
  total: z.number().int().min(0),
  page: z.number().int().min(1),
  limit: z.number().int().min(1),
});

/** The body as the handler parses it, with the test cards it accepts named for readers. */
const checkoutRequest = checkoutBody.extend({
  paymentToken: checkoutBody.shape.paymentToken.meta({
    description: `A test card: ${PAYMENT_TOKENS.join(", ")} (\`tok_visa\` pays; the others are declined)`,
    examples: [...PAYMENT_TOKENS],
  }),
});

const idParams = z.object({ id: uuidParam });
const noOrder = problem("There is no such order of yours");
const order = (description: string) => ({ description, schema: orderSchema });

export const orderApi: ServiceApi = {
  service: "order",
  description: "Checkout and orders: idempotent, reserved all or none, paid through events",
  schemas: { Order: orderSchema, OrderPage: orderPageSchema },
  operations: [
    {
      method: "post",
      path: "/orders",
      operationId: "checkout",
      summary: "Check out the cart",
      description:
        "Reserves every line or none and answers `pending`; the payment result arrives over the WebSocket. Send a new `Idempotency-Key` per attempt: a retry with the same key and body gets the first answer (`Idempotent-Replayed: true`), with another body `422`.",
      tag: "orders",
      access: "user",
      idempotencyKey: true,
      body: { schema: checkoutRequest, required: true },
      responses: {
        201: {
          ...order("The order, `pending` until the payment result"),
          headers: {
            "Idempotent-Replayed": {
              description: "`true` when this is the stored answer of an earlier request with the same key",
              schema: z.literal("true"),
            },
          },
        },
        409: problem("Empty cart, not enough stock, a product no longer sold, or a checkout in progress"),
        422: problem("The Idempotency-Key was used with another request"),
        503: problem("The cart or the catalog cannot be reached right now"),
      },
    },
    {
      method: "get",
      path: "/orders",
      operationId: "listOrders",
      summary: "Your orders (an admin's: everyone's), newest first",
      tag: "orders",
      access: "user",
      query: listQuery,
      responses: { 200: { description: "One page of orders", schema: orderPageSchema } },
    },
    {
      method: "get",
      path: "/orders/:id",
      operationId: "getOrder",
      summary: "One order",
      tag: "orders",
      access: "user",
      params: idParams,
      responses: { 200: order("The order"), 404: noOrder },
    },
    {
      method: "post",
      path: "/orders/:id/cancel",
      operationId: "cancelOrder",
      summary: "Cancel an order that is not paid yet",
      tag: "orders",
      access: "user",
      params: idParams,
      responses: {
        200: order("The cancelled order; its stock is released"),
        404: noOrder,
        409: problem("The order can no longer be cancelled"),
      },
    },
    {
      method: "put",
      path: "/orders/:id/status",
      operationId: "setOrderStatus",
      summary: "Move a paid order to shipped or delivered (admin)",
      tag: "orders",
      access: "admin",
      params: idParams,
      body: { schema: statusBody, required: true },
      responses: {
        200: order("The order"),
        404: noOrder,
        409: problem("The order cannot move to that status"),
      },
    },
  ],
};
