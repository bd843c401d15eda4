import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { claimEvent, type Db, enqueueEvent, type Logger, withTransaction } from "@shopstream/runtime";
import type { PaymentRepository } from "../data-access/payment-repository.js";
import { decide, type Payment, paymentEvent } from "./payment.js";

export const ORDER_CREATED_CONSUMER = "payment.order-created";

export interface ChargeDeps {
  db: Db;
  payments: PaymentRepository;
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
