// The API client wired to the browser, and one function per endpoint the storefront uses.
import { ApiError, createApiClient } from "./api-client";
import { clearSession, currentSession, saveSession } from "./session";
import type { Cart, Order, OrderEvent, Page, Product, ProductInput, Session, User } from "./types";

export { ApiError, isApiError } from "./api-client";

/** Serialises token refreshes across tabs where the browser offers Web Locks. */
function exclusive<T>(task: () => Promise<T>): Promise<T> {
  if (typeof navigator !== "undefined" && navigator.locks) {
    return navigator.locks.request("shopstream-token-refresh", task) as Promise<T>;
  }
  return task();
}

const client = createApiClient({
  baseUrl: "/api",
  session: { get: currentSession, set: saveSession, clear: clearSession },
  exclusive,
});

const request = client.request;
export const refreshSession = client.refreshSession;
const path = encodeURIComponent;

export interface ProductQuery {
  q?: string;
  category?: string;
  minPrice?: number;
  maxPrice?: number;
  sort?: string;
  page?: number;
  limit?: number;
}

function queryString(query: object): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/**
 * Creates an account and signs in with it. When the sign-in is refused, the address had an
 * account already (whose owner the server has told): the person is asked to sign in instead.
 */
async function signUp(body: { email: string; password: string; name: string }): Promise<Session> {
  await api.register(body);
  try {
    return await api.login({ email: body.email, password: body.password });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    throw new ApiError({
      status: 409,
      title: "Account not created",
      detail:
        "This e-mail address may already have an account. Sign in with its password, or use another address.",
    });
  }
}

export const api = {
  /** Answers alike whether the address was new or taken: the session comes from signing in next. */
  register: (body: { email: string; password: string; name: string }) =>
    request<{ status: string; detail: string }>("/auth/register", { body, auth: false }),
  signUp: (body: { email: string; password: string; name: string }) => signUp(body),
  login: (body: { email: string; password: string }) =>
    request<Session>("/auth/login", { body, auth: false }),
  /**
   * Ends the session server-side. The refresh token is the proof, so this works after the local
   * session is cleared and whatever the access token's state (which then lapses within 15 min).
   */
  logout: (refreshToken: string) => request<void>("/auth/logout", { body: { refreshToken }, auth: false }),
  me: () => request<{ user: User }>("/auth/me"),

  products: (query: ProductQuery, signal?: AbortSignal) =>
    request<Page<Product>>(`/products${queryString(query)}`, { signal }),
  product: (id: string, signal?: AbortSignal) => request<Product>(`/products/${path(id)}`, { signal }),
  createProduct: (body: ProductInput) => request<Product>("/products", { body }),
  updateProduct: (id: string, body: Partial<ProductInput>) =>
    request<Product>(`/products/${path(id)}`, { method: "PATCH", body }),
  deleteProduct: (id: string) => request<void>(`/products/${path(id)}`, { method: "DELETE" }),
  uploadProductImage: (id: string, file: Blob) =>
    request<unknown>(`/products/${path(id)}/image`, { method: "PUT", rawBody: file }),

  cart: (signal?: AbortSignal) => request<Cart>("/cart", { signal }),
  addToCart: (productId: string, quantity: number) =>
    request<unknown>("/cart/items", { body: { productId, quantity } }),
  setCartQuantity: (productId: string, quantity: number) =>
    request<unknown>(`/cart/items/${path(productId)}`, { method: "PATCH", body: { quantity } }),
  removeFromCart: (productId: string) =>
    request<unknown>(`/cart/items/${path(productId)}`, { method: "DELETE" }),
  clearCart: () => request<unknown>("/cart", { method: "DELETE" }),

  placeOrder: (paymentToken: string, idempotencyKey: string) =>
    request<Order>("/orders", { body: { paymentToken }, headers: { "Idempotency-Key": idempotencyKey } }),
  orders: (signal?: AbortSignal) => request<{ items: Order[] }>("/orders", { signal }),
  order: (id: string, signal?: AbortSignal) => request<Order>(`/orders/${path(id)}`, { signal }),
  cancelOrder: (id: string) => request<unknown>(`/orders/${path(id)}/cancel`, { method: "POST" }),
  setOrderStatus: (id: string, status: "shipped" | "delivered") =>
    request<unknown>(`/orders/${path(id)}/status`, { method: "PUT", body: { status } }),

  notifications: () => request<{ items: OrderEvent[] }>("/notifications"),
};
