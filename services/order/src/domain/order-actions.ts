import {
  claimEvent,
  type Db,
  enqueueEvent,
  type Logger,
  notFound,
  type TokenUser,
  withTransaction,
} from "@shopstream/runtime";
import { assertTransition, canTransition, type Order, type OrderStatus, orderStatusEvent } from "./order.js";
import type { OrderFilter, OrderStore } from "./ports.js";

export interface OrderDeps {
  db: Db;
  orders: OrderStore;
  logger: Logger;
  /** Called after a commit that wrote outbox events (kicks the relay). */
  onCommitted: () => void;
}

const canSee = (viewer: TokenUser, order: Order) => viewer.role === "admin" || order.userId === viewer.id;

/** Another user's order is a 404, not a 403: its existence is not the caller's business. */
const noSuchOrder = (id: string) => notFound(`No order ${id}`);

export async function getOrder(deps: OrderDeps, viewer: TokenUser, id: string): Promise<Order> {
  const order = await deps.orders.find(id);
  if (!order || !canSee(viewer, order)) throw noSuchOrder(id);
  return order;
}

/** A customer lists their own orders; an admin lists everybody's, optionally one user's. */
export async function listOrders(
  deps: OrderDeps,
  viewer: TokenUser,
  query: Omit<OrderFilter, "userId"> & { userId?: string | undefined },
) {
  const userId = viewer.role === "admin" ? query.userId : viewer.id;
  return deps.orders.list({ ...query, userId });
}

/** The owner or an admin cancels a pending order; `order.cancelled` makes product release its stock. */
export async function cancelOrder(deps: OrderDeps, viewer: TokenUser, id: string): Promise<Order> {
  return transition(deps, id, "cancelled", viewer.role === "admin" ? "admin" : "customer", viewer);
}

/** Admin moves a paid order to shipped, then delivered. */
export async function setFulfilmentStatus(
  deps: OrderDeps,
  id: string,
  to: Extract<OrderStatus, "shipped" | "delivered">,
): Promise<Order> {
  return transition(deps, id, to, "admin");
}

async function transition(
  deps: OrderDeps,
  id: string,
  to: OrderStatus,
  cause: string,
  viewer?: TokenUser,
): Promise<Order> {
  const order = await withTransaction(deps.db, async (conn) => {
    const current = await deps.orders.find(id, { conn, forUpdate: true });
    if (!current || (viewer && !canSee(viewer, current))) throw noSuchOrder(id);
    assertTransition(current.status, to);
    const at = new Date();
    await deps.orders.changeStatus(conn, id, { from: current.status, to, cause, at });
    const next: Order = { ...current, status: to, updatedAt: at };
    await enqueueEvent(conn, orderStatusEvent(next));
    return next;
  });
  deps.onCommitted();
  deps.logger.info({ orderId: id, status: to, cause }, "order status changed");
  return order;
}

export const PAYMENT_EVENTS_CONSUMER = "order.payment-events";

export type PaymentOutcome =
  | { orderId: string; result: "completed"; paymentId: string }
  | { orderId: string; result: "failed"; paymentId: string; reason: string };

/**
 * Applies a payment result once per event id: the claim, the status change and the
 * `order.paid` / `order.payment_failed` outbox event commit together. A result for an order
 * that is no longer pending (cancelled meanwhile, or already settled) is recorded and ignored,
 * so it cannot loop through retries.
 */
export async function applyPayment(
  deps: OrderDeps,
  eventId: string,
  eventType: string,
  payment: PaymentOutcome,
): Promise<"applied" | "duplicate" | "ignored"> {
  const to: OrderStatus = payment.result === "completed" ? "paid" : "payment_failed";
  const outcome = await withTransaction(deps.db, async (conn) => {
    if (!(await claimEvent(conn, PAYMENT_EVENTS_CONSUMER, eventId))) return "duplicate" as const;
    const order = await deps.orders.find(payment.orderId, { conn, forUpdate: true });
    if (!order) {
      deps.logger.warn({ eventId, orderId: payment.orderId }, "payment for an unknown order ignored");
      return "ignored" as const;
    }
    if (!canTransition(order.status, to)) {
      deps.logger.warn(
        { eventId, orderId: order.id, status: order.status, result: payment.result },
        order.status === "cancelled" && payment.result === "completed"
          ? "payment completed for a cancelled order; payment refunds it (order.cancelled)"
          : "payment result for an order that is no longer pending; ignored",
      );
      return "ignored" as const;
    }
    const at = new Date();
    const failureReason = payment.result === "failed" ? payment.reason : undefined;
    await deps.orders.changeStatus(conn, order.id, {
      from: order.status,
      to,
      cause: eventType,
      eventId,
      paymentId: payment.paymentId,
      ...(failureReason ? { failureReason } : {}),
      at,
    });
    await enqueueEvent(
      conn,
      orderStatusEvent({
        ...order,
        status: to,
        paymentId: payment.paymentId,
        failureReason: failureReason ?? null,
        updatedAt: at,
      }),
    );
    return "applied" as const;
  });
  if (outcome === "applied") {
    deps.onCommitted();
    deps.logger.info({ orderId: payment.orderId, status: to, eventId }, "payment applied");
  }
  return outcome;
}

/**
 * `payment.refunded`: the charge of a cancelled order was given back. Recorded on the order
 * (`refundedAt`, shown to the buyer) once per event id.
 */
export async function applyRefund(
  deps: OrderDeps,
  eventId: string,
  refund: { orderId: string },
): Promise<"applied" | "duplicate" | "ignored"> {
  const at = new Date();
  const outcome = await withTransaction(deps.db, async (conn) => {
    if (!(await claimEvent(conn, PAYMENT_EVENTS_CONSUMER, eventId))) return "duplicate" as const;
    return (await deps.orders.markRefunded(conn, refund.orderId, at))
      ? ("applied" as const)
      : ("ignored" as const);
  });
  deps.logger.info({ orderId: refund.orderId, eventId, outcome }, "payment refund recorded");
  return outcome;
}
