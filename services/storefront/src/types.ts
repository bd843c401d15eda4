// Shapes of the public API (docs/architecture.md, "The public API in brief"), as the storefront reads them.

export type Role = "customer" | "admin";

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
}

export interface Session {
  user: User;
  accessToken: string;
  refreshToken: string;
}

export interface Product {
  id: string;
  sku?: string;
  name: string;
  description: string;
  category: string;
  priceCents: number;
  currency: string;
  stock: number;
  imageUrl: string | null;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
}

export interface CartItem {
  productId: string;
  name: string;
  unitPriceCents: number;
  quantity: number;
  lineTotalCents: number;
  currency: string;
  stock: number;
  imageUrl: string | null;
}

export interface Cart {
  items: CartItem[];
  totalCents: number;
  currency: string;
}

export type OrderStatus = "pending" | "paid" | "payment_failed" | "cancelled" | "shipped" | "delivered";

export interface OrderItem {
  productId: string;
  name: string;
  unitPriceCents: number;
  quantity: number;
}

export interface Order {
  id: string;
  userId?: string;
  status: OrderStatus;
  totalCents: number;
  currency: string;
  items: OrderItem[];
  createdAt: string;
  updatedAt: string;
}

/** A message pushed over the notifications WebSocket, and an entry of its history. */
export interface OrderEvent {
  type: string;
  orderId: string;
  status: OrderStatus;
  at: string;
}

export interface ProductInput {
  name: string;
  description: string;
  category: string;
  priceCents: number;
  currency: string;
  stock: number;
}
