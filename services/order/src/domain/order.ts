import { conflict, domainEvent, type EventEnvelope, type EventType } from "@shopstream/runtime";

export const ORDER_STATUSES = [
  "pending",
  "paid",
  "payment_failed",
  "cancelled",
  "shipped",
  "delivered",
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/**
 * The order state machine (docs/architecture.md, "The public API in brief"). A paid order cannot be cancelled: that would
 * need a refund, and refunds are out of scope of the mock payment processor.
 */
const TRANSITIONS: Record<OrderStatus, readonly OrderStatus[]> = {
  pending: ["paid", "payment_failed", "cancelled"],
  paid: ["shipped"],
  shipped: ["delivered"],
  payment_failed: [],
  cancelled: [],
  delivered: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** A 409 naming both states when the machine does not allow `from` → `to`. */
export function assertTransition(from: OrderStatus, to: OrderStatus): void {
  if (!canTransition(from, to)) {
    throw conflict(`An order that is ${from} cannot become ${to}`, {
      type: "https://shopstream.dev/problems/illegal-order-transition",
      from,
      to,
    });
  }
}

/** Mock payment tokens, in the spirit of public test cards; anything else is refused at checkout. */
export const PAYMENT_TOKENS = ["tok_visa", "tok_chargeDeclined", "tok_insufficientFunds"] as const;
export type PaymentToken = (typeof PAYMENT_TOKENS)[number];

export interface OrderLine {
  productId: string;
  name: string;
  unitPriceCents: number;
  quantity: number;
}

export interface Order {
  id: string;
  userId: string;
  status: OrderStatus;
  items: OrderLine[];
  totalCents: number;
  currency: string;
  paymentToken: string | null;
  paymentId: string | null;
  failureReason: string | null;
  /** When the payment of this (cancelled) order was refunded. */
  refundedAt?: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export function totalOf(items: OrderLine[]): number {
  return items.reduce((sum, line) => sum + line.unitPriceCents * line.quantity, 0);
}

/** The order as the API shows it. */
export function orderJson(order: Order) {
  return {
    id: order.id,
    userId: order.userId,
    status: order.status,
    items: order.items.map((line) => ({
      productId: line.productId,
      name: line.name,
      unitPriceCents: line.unitPriceCents,
      quantity: line.quantity,
      lineTotalCents: line.unitPriceCents * line.quantity,
    })),
    totalCents: order.totalCents,
    currency: order.currency,
    ...(order.paymentToken ? { paymentToken: order.paymentToken } : {}),
    ...(order.failureReason ? { failureReason: order.failureReason } : {}),
    ...(order.refundedAt ? { refundedAt: order.refundedAt.toISOString() } : {}),
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}

const eventItems = (order: Order) =>
  order.items.map(({ productId, name, unitPriceCents, quantity }) => ({
    productId,
    name,
    unitPriceCents,
    quantity,
  }));

/** `order.created`, the event that starts the payment saga (docs/service-contracts.md). */
export function orderCreatedEvent(order: Order & { paymentToken: string }): EventEnvelope {
  return domainEvent("order.created", {
    orderId: order.id,
    userId: order.userId,
    status: "pending",
    items: eventItems(order),
    totalCents: order.totalCents,
    currency: order.currency,
    paymentToken: order.paymentToken,
  });
}

/** `order.<status>` after a transition: paid, payment_failed, cancelled, shipped, delivered. */
export function orderStatusEvent(order: Order): EventEnvelope {
  // The routing key names the status the order moved to: a union the compiler checks the data against.
  const type = `order.${order.status}` as Exclude<Extract<EventType, `order.${string}`>, "order.created">;
  return domainEvent(type, {
    orderId: order.id,
    userId: order.userId,
    status: order.status,
    totalCents: order.totalCents,
    currency: order.currency,
    items: eventItems(order),
    ...(order.failureReason ? { failureReason: order.failureReason } : {}),
  });
}
