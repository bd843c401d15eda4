// The person's orders, kept current by live notifications (see live.ts).
import { api } from "./api";
import { type PushedStatus, remember, withPushedStatus } from "./order-status";
import { createStore } from "./store";
import type { Order, OrderStatus } from "./types";

export const STATUS_LABEL: Record<OrderStatus, string> = {
  pending: "Pending payment",
  paid: "Paid",
  payment_failed: "Payment failed",
  cancelled: "Cancelled",
  shipped: "Shipped",
  delivered: "Delivered",
};

export function statusLabel(status: string): string {
  return STATUS_LABEL[status as OrderStatus] ?? status;
}

export interface OrdersState {
  items: Order[] | null;
  loading: boolean;
  error: unknown;
}

export const ordersStore = createStore<OrdersState>({ items: null, loading: false, error: null });
/** The furthest status pushed per order, which a fetch answered before the push must not undo. */
export const pushedStatusStore = createStore<ReadonlyMap<string, PushedStatus>>(new Map());
let latestLoad = 0;

export function newestFirst(orders: Order[]): Order[] {
  return [...orders].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export async function loadOrders(): Promise<void> {
  const load = ++latestLoad;
  ordersStore.update((state) => ({ ...state, loading: true, error: null }));
  try {
    const { items } = await api.orders();
    const known = pushedStatusStore.get();
    const current = items.map((order) => withPushedStatus(order, known));
    if (load === latestLoad) ordersStore.set({ items: newestFirst(current), loading: false, error: null });
  } catch (error) {
    if (load === latestLoad) ordersStore.update((state) => ({ ...state, loading: false, error }));
  }
}

export function patchOrderStatus(orderId: string, status: OrderStatus, at: string): void {
  const known = remember(pushedStatusStore.get(), orderId, { status, at });
  pushedStatusStore.set(known);
  ordersStore.update((state) =>
    state.items ? { ...state, items: state.items.map((order) => withPushedStatus(order, known)) } : state,
  );
}

export function resetOrders(): void {
  latestLoad++;
  pushedStatusStore.set(new Map());
  ordersStore.set({ items: null, loading: false, error: null });
}
