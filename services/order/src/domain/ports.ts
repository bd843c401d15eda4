/**
 * What the order domain needs from outside (docs/architecture.md#service-layout): its stores
 * (MariaDB, in data-access/) and the cart and product services (HTTP clients, in data-access/).
 * service.ts wires the implementations.
 */
import type { DbConnection } from "@shopstream/runtime";
import type { Order, OrderStatus } from "./order.js";

export interface OrderFilter {
  userId?: string | undefined;
  status?: OrderStatus | undefined;
  page: number;
  limit: number;
}

export interface StatusChange {
  from: OrderStatus;
  to: OrderStatus;
  /** What caused it: `checkout`, `customer`, `admin`, or the event type that did. */
  cause: string;
  eventId?: string;
  paymentId?: string;
  failureReason?: string;
  at: Date;
}

/** The orders, their lines and their status history. */
export interface OrderStore {
  /** Inserts the order, its lines and the first history entry (in the caller's transaction). */
  insert(conn: DbConnection, order: Order): Promise<void>;
  /** One order with its lines; `forUpdate` locks the row until the transaction ends. */
  find(id: string, options?: { conn?: DbConnection; forUpdate?: boolean }): Promise<Order | undefined>;
  list(filter: OrderFilter): Promise<{ items: Order[]; total: number }>;
  /** Moves the order from `change.from` (checked under the row lock) and records why. */
  changeStatus(conn: DbConnection, orderId: string, change: StatusChange): Promise<void>;
  /** Records that the order's payment was refunded; false when it already was, or is unknown. */
  markRefunded(conn: DbConnection, orderId: string, at: Date): Promise<boolean>;
  exists(id: string): Promise<boolean>;
}

/** What a checkout learns when it claims its Idempotency-Key. */
export type KeyClaim =
  /**
   * This request owns the key, fenced by `token`: every later write of the key checks it, so an
   * owner that lost the key (its lease ran out and someone took over) can no longer complete it.
   * `abandonedOrderId` is set when it took over a key whose earlier owner vanished: that order id
   * may hold a reservation, which must be released before the key moves on to a new order id.
   */
  | { kind: "owner"; orderId: string; token: string; abandonedOrderId?: string }
  /** The key already produced order `orderId`: answer it again with the same status. */
  | { kind: "replay"; orderId: string; status: number }
  /** The key was used with another request body. */
  | { kind: "mismatch" }
  /** Another request with this key is still in progress. */
  | { kind: "busy" };

export interface ClaimRequest {
  userId: string;
  keyHash: string;
  fingerprint: string;
  /** The order id this request uses if it becomes the key's first owner. */
  orderId: string;
  /** This request's fencing token. */
  token: string;
  leaseMs: number;
  ttlMs: number;
}

export interface AbandonedCheckout {
  userId: string;
  keyHash: string;
  orderId: string;
  /** The sweeper's token: the key is its own until it forgets it. */
  token: string;
}

/**
 * Idempotency-Keys per user, each held by its owner under a fencing token for a lease the owner
 * renews; a key is completed in the transaction that writes its order.
 */
export interface IdempotencyStore {
  claim(req: ClaimRequest): Promise<KeyClaim>;
  /** Moves the key to a fresh order id once the abandoned one was released; false if no longer ours. */
  moveToOrder(userId: string, keyHash: string, token: string, orderId: string): Promise<boolean>;
  /** Extends the owner's lease; false when the key is no longer this owner's. */
  renew(userId: string, keyHash: string, token: string, leaseMs: number): Promise<boolean>;
  /**
   * Marks the key done, in the transaction that writes its order; false if it is no longer this
   * owner's (fenced): the transaction must then roll back.
   */
  complete(
    conn: DbConnection,
    key: { userId: string; keyHash: string; orderId: string; token: string },
    status: number,
  ): Promise<boolean>;
  /** Frees a key whose checkout failed, so the client may retry with it; only its owner can. */
  forget(userId: string, keyHash: string, token: string): Promise<void>;
  /**
   * Checkouts whose owner vanished (crash, kill, a stall past its lease) before writing the
   * order; each returned key is taken under `newToken()` (so its old owner can no longer
   * complete it) and leased to the caller, who releases its reservation and then forgets it.
   */
  takeAbandoned(leaseMs: number, newToken: () => string, limit?: number): Promise<AbandonedCheckout[]>;
  /** Keys are remembered for their TTL only. */
  deleteExpired(): Promise<number>;
}

/** One checkout at a time per buyer: a lease per user, held under the checkout's fencing token. */
export interface CheckoutLeaseStore {
  /** Takes the user's lease for `holder` unless another live checkout holds it; true if ours. */
  acquire(userId: string, holder: string, orderId: string, leaseMs: number): Promise<boolean>;
  /** Extends the lease; false when it is no longer `holder`'s. */
  renew(userId: string, holder: string, leaseMs: number): Promise<boolean>;
  /** Frees the lease, if it is still `holder`'s. */
  release(userId: string, holder: string): Promise<void>;
}

export interface CartLine {
  productId: string;
  name: string;
  quantity: number;
}

export interface CartReader {
  /** The user's cart lines; empty when the user has no cart. */
  linesOf(userId: string, ctx: { requestId?: string; authorization?: string }): Promise<CartLine[]>;
  /**
   * Takes a committed order's quantities out of the user's cart, once per order id (the cart's
   * `order.created` consumer uses the same marker). Resolves whether this call applied them;
   * throws UpstreamError when the cart did not answer usefully.
   */
  removeOrdered(
    userId: string,
    orderId: string,
    items: { productId: string; quantity: number }[],
    ctx: { requestId?: string },
  ): Promise<boolean>;
}

/** A line as the product service reserved it, priced at reservation time. */
export interface ReservedLine {
  productId: string;
  name: string;
  unitPriceCents: number;
  currency: string;
  quantity: number;
}

export type ReservationResult =
  | { kind: "reserved"; items: ReservedLine[] }
  /** A line is short: nothing was reserved. */
  | { kind: "short"; productId: string; available: number | undefined }
  /** A line names a product that no longer exists: nothing was reserved. */
  | { kind: "unknown-product"; productId: string }
  /** This order id's reservation was released: nothing is held, and it cannot be reserved again. */
  | { kind: "released" };

export interface StockReserver {
  /**
   * Reserves every line or none, idempotent by order id. Throws UpstreamError when the
   * outcome is unknown (network, timeout, 5xx): the caller must then release.
   */
  reserve(
    orderId: string,
    items: { productId: string; quantity: number }[],
    ctx: { requestId?: string },
  ): Promise<ReservationResult>;
  /** Releases the order's reservation; idempotent. */
  release(orderId: string, ctx: { requestId?: string }): Promise<boolean>;
}

/** A call to another service that did not give a usable answer (network, timeout, 5xx). */
export class UpstreamError extends Error {
  override name = "UpstreamError";
}
