// What the newest word on an order's status is, whichever way it arrived. A status pushed over the
// WebSocket can arrive before the page has loaded the order, or while a fetch answered just
// before the change is still in flight; either way the page must not show the older status.
// Statuses only move forward (the order service's state machine), so "newer" is "further along".
import type { Order, OrderStatus } from "./types.js";

const STAGE: Record<OrderStatus, number> = {
  pending: 0,
  paid: 1,
  payment_failed: 2,
  cancelled: 2,
  shipped: 3,
  delivered: 4,
};

export interface PushedStatus {
  status: OrderStatus;
  at: string;
}

/** The further along of two statuses; unknown statuses (a newer server) count as news. */
export function isFurther(next: OrderStatus, than: OrderStatus): boolean {
  return (STAGE[next] ?? Number.MAX_SAFE_INTEGER) > (STAGE[than] ?? -1);
}

/** Remembers the furthest status pushed per order. */
export function remember(
  known: ReadonlyMap<string, PushedStatus>,
  orderId: string,
  pushed: PushedStatus,
): Map<string, PushedStatus> {
  const current = known.get(orderId);
  const next = new Map(known);
  if (!current || isFurther(pushed.status, current.status)) next.set(orderId, pushed);
  return next;
}

/** The order as loaded, moved on to a status pushed since, if one is further along. */
export function withPushedStatus(order: Order, known: ReadonlyMap<string, PushedStatus>): Order {
  const pushed = known.get(order.id);
  if (!pushed || !isFurther(pushed.status, order.status)) return order;
  return { ...order, status: pushed.status, updatedAt: pushed.at || order.updatedAt };
}
