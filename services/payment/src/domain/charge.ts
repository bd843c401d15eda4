import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { claimEvent, type Db, enqueueEvent, type Logger, withTransaction } from "@shopstream/runtime";
import { decide, type Payment, paymentEvent, refundEvent } from "./payment.js";
import type { PaymentStore } from "./ports.js";

export const ORDER_CREATED_CONSUMER = "payment.order-created";

export interface ChargeDeps {
  db: Db;
  payments: PaymentStore;
  logger: Logger;
  /** Called after a commit that wrote outbox events (kicks the relay). */
  onCommitted: () => void;
  count: (result: Payment["status"]) => void;
  /** Test only (PAYMENT_TEST_DELAY_MS): keeps the transaction open before committing. */
  holdTransactionMs: number;
}

export interface ChargeRequest {
  orderId: string;
  userId: string;
  totalCents: number;
  currency: string;
  paymentToken: string;
}

/**
 * Charges an order once: the event claim, the payment row (unique per order) and the
 * `payment.*` outbox event commit together. A redelivered event, or another event for the
 * same order, changes nothing.
 */
export async function chargeOrder(
  deps: ChargeDeps,
  eventId: string,
  req: ChargeRequest,
): Promise<Payment | undefined> {
  const payment = await withTransaction(deps.db, async (conn) => {
    if (!(await claimEvent(conn, ORDER_CREATED_CONSUMER, eventId))) return undefined;
    const decision = decide(req.paymentToken);
    const p: Payment = {
      id: randomUUID(),
      orderId: req.orderId,
      userId: req.userId,
      amountCents: req.totalCents,
      currency: req.currency,
      token: req.paymentToken,
      status: decision.result,
      failureReason: decision.result === "failed" ? decision.reason : null,
      eventId,
      createdAt: new Date(),
    };
    if (!(await deps.payments.insert(conn, p))) {
      deps.logger.info({ eventId, orderId: req.orderId }, "order already has a payment; event ignored");
      return undefined;
    }
    await enqueueEvent(conn, paymentEvent(p));
    if (deps.holdTransactionMs > 0) {
      deps.logger.info({ orderId: req.orderId, ms: deps.holdTransactionMs }, "test delay: holding payment");
      await sleep(deps.holdTransactionMs);
    }
    return p;
  });
  if (payment) {
    deps.onCommitted();
    deps.count(payment.status);
    deps.logger.info(
      {
        orderId: payment.orderId,
        paymentId: payment.id,
        result: payment.status,
        reason: payment.failureReason,
      },
      "payment processed",
    );
  }
  return payment;
}

export const ORDER_CANCELLED_CONSUMER = "payment.order-cancelled";

export interface CancelRequest {
  orderId: string;
  userId: string;
  totalCents: number;
  currency: string;
}

/**
 * A cancelled order is never left charged, whichever of its `order.created` and `order.cancelled`
 * payment sees first. Before the charge: a `voided` payment row takes the order's one payment, so
 * the charge that comes later finds it and charges nothing. After it (the charge won the race
 * against the cancel): the charge is refunded and `payment.refunded` tells the order and the
 * buyer. Once per event id; the claim, the row and the event commit together.
 */
export async function cancelPayment(
  deps: ChargeDeps,
  eventId: string,
  req: CancelRequest,
): Promise<"voided" | "refunded" | "nothing" | "duplicate"> {
  const outcome = await withTransaction(deps.db, async (conn) => {
    if (!(await claimEvent(conn, ORDER_CANCELLED_CONSUMER, eventId))) return "duplicate" as const;
    const voided: Payment = {
      id: randomUUID(),
      orderId: req.orderId,
      userId: req.userId,
      amountCents: 0,
      currency: req.currency,
      token: "",
      status: "voided",
      failureReason: null,
      eventId,
      createdAt: new Date(),
    };
    // Waits for a charge of this order still in flight (its row is locked) and then sees it.
    if (await deps.payments.insert(conn, voided)) return "voided" as const;
    const payment = await deps.payments.lockForOrder(conn, req.orderId);
    if (payment?.status !== "completed") return "nothing" as const;
    await deps.payments.markRefunded(conn, payment.id, new Date());
    await enqueueEvent(
      conn,
      refundEvent({
        orderId: req.orderId,
        userId: req.userId,
        paymentId: payment.id,
        amountCents: payment.amountCents,
        currency: payment.currency,
      }),
    );
    return "refunded" as const;
  });
  if (outcome === "refunded") deps.onCommitted();
  if (outcome === "voided" || outcome === "refunded") {
    deps.count(outcome);
    deps.logger.info(
      { orderId: req.orderId, eventId, result: outcome },
      "payment of a cancelled order settled",
    );
  }
  return outcome;
}
