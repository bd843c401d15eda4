// The signed-in person's cart, shared by the header badge, product pages and the cart page.
import { api } from "./api";
import { sessionStore } from "./session";
import { createStore } from "./store";
import type { Cart } from "./types";

export interface CartState {
  cart: Cart | null;
  loading: boolean;
  error: unknown;
}

export const cartStore = createStore<CartState>({ cart: null, loading: false, error: null });
let latestLoad = 0;

export function itemCount(cart: Cart | null): number {
  return cart?.items.reduce((sum, item) => sum + item.quantity, 0) ?? 0;
}

function isCart(value: unknown): value is Cart {
  return (
    typeof value === "object" &&
    value !== null &&
    Array.isArray((value as Cart).items) &&
    typeof (value as Cart).totalCents === "number"
  );
}

export async function loadCart(): Promise<void> {
  const load = ++latestLoad;
  if (!sessionStore.get()) {
    cartStore.set({ cart: null, loading: false, error: null });
    return;
  }
  cartStore.update((state) => ({ ...state, loading: true, error: null }));
  try {
    const cart = await api.cart();
    if (load === latestLoad) cartStore.set({ cart, loading: false, error: null });
  } catch (error) {
    if (load === latestLoad) cartStore.update((state) => ({ ...state, loading: false, error }));
  }
}

/** Runs a cart change, then shows the cart it answered with (or re-reads it). Errors go to the caller. */
async function change(run: () => Promise<unknown>): Promise<void> {
  const answer = await run();
  if (isCart(answer)) {
    latestLoad++;
    cartStore.set({ cart: answer, loading: false, error: null });
  } else {
    await loadCart();
  }
}

export const addToCart = (productId: string, quantity: number) =>
  change(() => api.addToCart(productId, quantity));
export const setQuantity = (productId: string, quantity: number) =>
  change(() => api.setCartQuantity(productId, quantity));
export const removeFromCart = (productId: string) => change(() => api.removeFromCart(productId));
export const clearCart = () => change(() => api.clearCart());

/** After checkout the cart service empties the cart on its own; show it empty right away. */
export function markCartEmpty(): void {
  cartStore.update((state) => ({
    ...state,
    cart: state.cart ? { ...state.cart, items: [], totalCents: 0 } : null,
  }));
}
