import { createHash, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
  conflict,
  type Db,
  enqueueEvent,
  isDuplicateKey,
  type Logger,
  serviceUnavailable,
  unprocessable,
  withTransaction,
} from "@shopstream/runtime";
import { type Order, orderCreatedEvent, type PaymentToken, totalOf } from "./order.js";
import {
  type CartLine,
  type CartReader,
  type CheckoutLeaseStore,
  type IdempotencyStore,
  type KeyClaim,
  type OrderStore,
  type ReservedLine,
  type StockReserver,
  UpstreamError,
} from "./ports.js";

export interface CheckoutDeps {
  db: Db;
  orders: OrderStore;
  keys: IdempotencyStore;
  /** One checkout at a time per buyer, whatever its Idempotency-Key. */
  leases: CheckoutLeaseStore;
  cart: CartReader;
  stock: StockReserver;
  logger: Logger;
  /** Called after a commit that wrote outbox events (kicks the relay). */
  onCommitted: () => void;
  /** Counts checkout outcomes for /metrics. */
  count: (outcome: CheckoutOutcome) => void;
  settings: { leaseMs: number; ttlMs: number; waitMs: number };
}

export type CheckoutOutcome =
  | "created"
  | "replayed"
  | "empty_cart"
  | "out_of_stock"
  | "key_conflict"
  | "checkout_busy"
  | "unavailable";

export interface CheckoutRequest {
  userId: string;
  idempotencyKey: string;
  paymentToken: PaymentToken;
  /** Hash of method, path, user and body: what "the same request" means for the key. */
  fingerprint: string;
  requestId?: string | undefined;
  authorization?: string | undefined;
}

export interface CheckoutResult {
  order: Order;
  /** The status code of the first answer; a replay answers it again. */
  status: number;
  replayed: boolean;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** What makes two requests "the same" for an Idempotency-Key. */
export function requestFingerprint(method: string, path: string, userId: string, body: unknown): string {
  return sha256(JSON.stringify([method.toUpperCase(), path, userId, canonical(body)]));
}

/** JSON with sorted keys, so `{a, b}` and `{b, a}` are the same body. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

/**
 * Checkout: claim the Idempotency-Key, take the buyer's checkout lease, read the cart, reserve stock in the product service,
 * then write the order, its lines, its `order.created` outbox event and the key's completion in
 * one transaction. Whatever fails after the reservation releases it again (compensation).
 */
export async function checkout(deps: CheckoutDeps, req: CheckoutRequest): Promise<CheckoutResult> {
  const keyHash = sha256(req.idempotencyKey);
  const claim = await claimKey(deps, req, keyHash);
  switch (claim.kind) {
    case "mismatch":
      deps.count("key_conflict");
      throw unprocessable(
        "This Idempotency-Key was already used with a different request; use a new key for a new order",
      );
    case "busy":
      deps.count("key_conflict");
      throw conflict("A checkout with this Idempotency-Key is still in progress; retry in a moment", {
        type: "https://shopstream.dev/problems/idempotency-key-in-use",
        headers: { "Retry-After": "1" },
      });
    case "replay": {
      const order = await deps.orders.find(claim.orderId);
      if (!order) throw new Error(`idempotency key points to missing order ${claim.orderId}`);
      deps.count("replayed");
      return { order, status: claim.status, replayed: true };
    }
    case "owner":
      return createOrder(deps, req, { userId: req.userId, keyHash, token: claim.token }, claim);
  }
}

/** Claims the key; a concurrent duplicate waits a moment for the first request to finish. */
async function claimKey(deps: CheckoutDeps, req: CheckoutRequest, keyHash: string): Promise<KeyClaim> {
  const deadline = Date.now() + deps.settings.waitMs;
  for (;;) {
    const claim = await deps.keys.claim({
      userId: req.userId,
      keyHash,
      fingerprint: req.fingerprint,
      orderId: randomUUID(),
      token: randomUUID(),
      leaseMs: deps.settings.leaseMs,
      ttlMs: deps.settings.ttlMs,
    });
    if (claim.kind !== "busy" || Date.now() >= deadline) return claim;
    await sleep(100);
  }
}

/** The Idempotency-Key a checkout owns, and the token that fences it. */
interface OwnedKey {
  userId: string;
  keyHash: string;
  token: string;
}

/**
 * Renews the key's and the buyer's lease every third of the lease while the checkout runs, so a
 * slow checkout keeps them. `lost()` turns true once the key is found taken over: the commit is
 * fenced anyway, this only spares work that could not commit.
 */
function keepAlive(deps: CheckoutDeps, key: OwnedKey) {
  let lost = false;
  const leaseMs = deps.settings.leaseMs;
  const timer = setInterval(
    async () => {
      try {
        if (!(await deps.keys.renew(key.userId, key.keyHash, key.token, leaseMs))) lost = true;
        await deps.leases.renew(key.userId, key.token, leaseMs);
      } catch (err) {
        // The database is away: the commit cannot happen either, and the token still fences it.
        deps.logger.warn(
          { err: (err as Error).message, userId: key.userId },
          "could not renew a checkout lease",
        );
      }
    },
    Math.max(100, Math.floor(leaseMs / 3)),
  );
  timer.unref();
  return { lost: () => lost, stop: () => clearInterval(timer) };
}

type Heartbeat = ReturnType<typeof keepAlive>;

const checkoutBusy = (deps: CheckoutDeps, detail: string) => {
  deps.count("checkout_busy");
  return conflict(detail, {
    type: "https://shopstream.dev/problems/checkout-in-progress",
    headers: { "Retry-After": "1" },
  });
};

/**
 * The key's owner orders the cart while holding the buyer's lease, so a second checkout with
 * another key cannot read the same cart before this one has emptied it (a double purchase).
 */
async function createOrder(
  deps: CheckoutDeps,
  req: CheckoutRequest,
  key: OwnedKey,
  claim: { orderId: string; abandonedOrderId?: string },
): Promise<CheckoutResult> {
  const heartbeat = keepAlive(deps, key);
  try {
    const orderId = claim.abandonedOrderId
      ? await resumeAbandoned(deps, req, key, claim.abandonedOrderId)
      : claim.orderId;
    let leased: boolean;
    try {
      leased = await takeLease(deps, key, orderId);
    } catch (err) {
      // The database is likely away: a key left in progress is released by the sweeper.
      await deps.keys.forget(key.userId, key.keyHash, key.token).catch(() => undefined);
      throw unavailable(deps, err, "Your checkout could not be started; nothing was ordered");
    }
    if (!leased) {
      await deps.keys.forget(key.userId, key.keyHash, key.token);
      throw checkoutBusy(deps, "Another checkout of yours is in progress; retry in a moment");
    }
    try {
      // Held until the order is committed and the cart emptied, or until any failure.
      return await orderCart(deps, req, key, orderId, heartbeat);
    } finally {
      await deps.leases
        .release(key.userId, key.token)
        .catch((err: Error) =>
          deps.logger.warn(
            { err: err.message, orderId, userId: key.userId },
            "could not release the checkout lease; it expires on its own",
          ),
        );
    }
  } finally {
    heartbeat.stop();
  }
}

/**
 * A retry that took over a key whose earlier attempt vanished (or stalled past its lease) first
 * releases that attempt's reservation, then goes on under a fresh order id: a released
 * reservation is never reused, so no two attempts ever share one.
 */
async function resumeAbandoned(
  deps: CheckoutDeps,
  req: CheckoutRequest,
  key: OwnedKey,
  abandonedOrderId: string,
): Promise<string> {
  try {
    await deps.stock.release(abandonedOrderId, { requestId: req.requestId });
  } catch (err) {
    // The key stays ours until its lease ends; then a retry or the sweeper tries again.
    throw unavailable(
      deps,
      err,
      "An earlier attempt of this checkout could not be undone yet; retry shortly",
    );
  }
  const orderId = randomUUID();
  if (!(await deps.keys.moveToOrder(key.userId, key.keyHash, key.token, orderId))) {
    throw checkoutBusy(deps, "A checkout with this Idempotency-Key is still in progress; retry in a moment");
  }
  deps.logger.warn({ abandonedOrderId, orderId }, "took over an abandoned checkout under a new order id");
  return orderId;
}

/** Takes the buyer's lease; while another checkout of theirs holds it, waits a moment. */
async function takeLease(deps: CheckoutDeps, key: OwnedKey, orderId: string): Promise<boolean> {
  const deadline = Date.now() + deps.settings.waitMs;
  for (;;) {
    if (await deps.leases.acquire(key.userId, key.token, orderId, deps.settings.leaseMs)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
}

async function orderCart(
  deps: CheckoutDeps,
  req: CheckoutRequest,
  key: OwnedKey,
  orderId: string,
  heartbeat: Heartbeat,
): Promise<CheckoutResult> {
  const ctx = { requestId: req.requestId, authorization: req.authorization };
  const forgetKey = () => deps.keys.forget(key.userId, key.keyHash, key.token);

  // Until the reservation, nothing needs undoing: a failure only frees the key for a retry.
  let lines: CartLine[];
  try {
    lines = await deps.cart.linesOf(req.userId, ctx);
  } catch (err) {
    await forgetKey();
    throw unavailable(deps, err, "The cart service is not available; nothing was ordered");
  }
  if (lines.length === 0) {
    await forgetKey();
    deps.count("empty_cart");
    throw conflict("Your cart is empty: add products before checking out", {
      type: "https://shopstream.dev/problems/empty-cart",
    });
  }

  if (heartbeat.lost()) {
    throw checkoutBusy(deps, "A checkout with this Idempotency-Key is still in progress; retry in a moment");
  }
  let reserved: ReservedLine[];
  try {
    const result = await deps.stock.reserve(
      orderId,
      lines.map(({ productId, quantity }) => ({ productId, quantity })),
      { requestId: req.requestId },
    );
    if (result.kind === "released") {
      // This order id's stock was given back (a failed attempt compensated): it holds nothing
      // and never will. Free the key, so the retry reserves afresh under a new order id.
      await forgetKey();
      throw unavailable(
        deps,
        new Error(`reservation of ${orderId} was released`),
        "Your earlier attempt was undone; nothing was ordered, retry",
      );
    }
    if (result.kind !== "reserved") {
      // Product reserves all lines or none: there is nothing to release.
      await forgetKey();
      deps.count("out_of_stock");
      throw stockProblem(result, lines);
    }
    reserved = result.items;
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    // The reservation may or may not have happened: release it to be sure.
    await compensate(deps, req, key, orderId);
    throw unavailable(deps, err, "Stock could not be reserved; nothing was ordered");
  }

  const now = new Date();
  const items = reserved.map(({ productId, name, unitPriceCents, quantity }) => ({
    productId,
    name,
    unitPriceCents,
    quantity,
  }));
  const order: Order & { paymentToken: string } = {
    id: orderId,
    userId: req.userId,
    status: "pending",
    items,
    totalCents: totalOf(items),
    currency: reserved[0]?.currency ?? "EUR",
    paymentToken: req.paymentToken,
    paymentId: null,
    failureReason: null,
    createdAt: now,
    updatedAt: now,
  };
  if (reserved.some((line) => line.currency !== order.currency)) {
    await compensate(deps, req, key, orderId);
    throw conflict("The products in your cart are priced in different currencies; order them separately");
  }

  try {
    await withTransaction(deps.db, async (conn) => {
      await deps.orders.insert(conn, order);
      await enqueueEvent(conn, orderCreatedEvent(order));
      // Fenced: an attempt whose key was taken over (its lease ran out) cannot commit.
      if (!(await deps.keys.complete(conn, { ...key, orderId }, 201))) {
        throw new Error("the Idempotency-Key was taken over before the order was written");
      }
    });
  } catch (err) {
    if (isDuplicateKey(err)) {
      // A retry that took over this key after a stall wrote the same order first.
      const existing = await deps.orders.find(orderId);
      if (existing) {
        deps.count("replayed");
        return { order: existing, status: 201, replayed: true };
      }
    }
    deps.logger.error({ err, orderId }, "order could not be written; releasing its reservation");
    await compensate(deps, req, key, orderId);
    throw unavailable(deps, err, "The order could not be recorded and its stock was released; retry");
  }

  deps.onCommitted();
  await removeFromCart(deps, req, order);
  deps.count("created");
  deps.logger.info(
    { orderId, userId: req.userId, totalCents: order.totalCents, lines: items.length },
    "order created",
  );
  return { order, status: 201, replayed: false };
}

/**
 * Takes the order's lines out of the cart before the buyer is answered, so an item added right
 * after the checkout never finds the ordered lines still there. One bounded attempt: when it
 * fails, the cart's `order.created` consumer removes them (same per-order marker, so never twice).
 */
async function removeFromCart(deps: CheckoutDeps, req: CheckoutRequest, order: Order) {
  const items = order.items.map(({ productId, quantity }) => ({ productId, quantity }));
  try {
    await deps.cart.removeOrdered(order.userId, order.id, items, { requestId: req.requestId });
  } catch (err) {
    deps.logger.warn(
      { err: (err as Error).message, orderId: order.id, userId: order.userId },
      "could not empty the cart after a checkout; the order.created consumer will",
    );
  }
}

/**
 * Releases the order's reservation and frees its key. When the release itself fails, the key
 * stays in progress: once its lease ends, the sweeper releases again.
 */
async function compensate(deps: CheckoutDeps, req: CheckoutRequest, key: OwnedKey, orderId: string) {
  try {
    await deps.stock.release(orderId, { requestId: req.requestId });
    await deps.keys.forget(key.userId, key.keyHash, key.token);
  } catch (err) {
    deps.logger.error(
      { err: (err as Error).message, orderId },
      "could not release a reservation; the sweeper will retry",
    );
  }
}

/** Releases reservations of checkouts whose process died mid-way, and forgets expired keys. */
export async function sweepAbandonedCheckouts(
  deps: Pick<CheckoutDeps, "keys" | "orders" | "stock" | "logger" | "settings">,
): Promise<number> {
  let released = 0;
  for (const abandoned of await deps.keys.takeAbandoned(deps.settings.leaseMs, randomUUID)) {
    // The order and the key's completion commit together, so an order here means a bug.
    if (await deps.orders.exists(abandoned.orderId)) continue;
    try {
      await deps.stock.release(abandoned.orderId, {});
      await deps.keys.forget(abandoned.userId, abandoned.keyHash, abandoned.token);
      released++;
      deps.logger.warn({ orderId: abandoned.orderId }, "released the reservation of an abandoned checkout");
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message, orderId: abandoned.orderId }, "sweep will retry");
    }
  }
  await deps.keys.deleteExpired();
  return released;
}

function stockProblem(
  result:
    | { kind: "short"; productId: string; available: number | undefined }
    | {
        kind: "unknown-product";
        productId: string;
      },
  lines: CartLine[],
) {
  const line = lines.find((l) => l.productId === result.productId);
  const name = line ? `“${line.name}”` : `product ${result.productId}`;
  if (result.kind === "unknown-product") {
    return conflict(`${name} is no longer sold; remove it from your cart`, {
      type: "https://shopstream.dev/problems/product-unavailable",
      productId: result.productId,
    });
  }
  const left = result.available === undefined ? "not enough" : `only ${result.available}`;
  return conflict(`Not enough stock for ${name}: ${left} left, ${line?.quantity ?? "more"} wanted`, {
    type: "https://shopstream.dev/problems/out-of-stock",
    productId: result.productId,
    ...(result.available === undefined ? {} : { available: result.available }),
  });
}

function unavailable(deps: CheckoutDeps, err: unknown, detail: string) {
  deps.count("unavailable");
  deps.logger.warn({ err: (err as Error).message }, detail);
  return serviceUnavailable(detail);
}
