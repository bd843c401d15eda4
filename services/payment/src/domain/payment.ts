import { domainEvent, type EventEnvelope } from "@shopstream/runtime";

export type FailureReason = "card_declined" | "insufficient_funds";

export type Decision = { result: "completed" } | { result: "failed"; reason: FailureReason };

/**
 * The mock processor's rule, in the spirit of public test cards. A token the order service
 * would have refused is declined rather than dead-lettered, so the order's saga still closes.
 */
export function decide(token: string): Decision {
  switch (token) {
    case "tok_visa":
      return { result: "completed" };
    case "tok_insufficientFunds":
      return { result: "failed", reason: "insufficient_funds" };
    default:
      return { result: "failed", reason: "card_declined" };
  }
}

export interface Payment {
  id: string;
  orderId: string;
  userId: string;
  amountCents: number;
  currency: string;
  token: string;
  status: "completed" | "failed" | "voided" | "refunded";
  failureReason: FailureReason | null;
  /** The `order.created` event that asked for it. */
  eventId: string;
  createdAt: Date;
}

/** `payment.refunded`: a completed charge given back because its order was cancelled. */
export function refundEvent(refund: {
  orderId: string;
  userId: string;
  paymentId: string;
  amountCents: number;
  currency: string;
}): EventEnvelope {
  return domainEvent("payment.refunded", { ...refund, status: "refunded" });
}

function failureReasonOf(payment: Payment): FailureReason {
  if (!payment.failureReason) throw new Error(`payment ${payment.id} failed without a reason`);
  return payment.failureReason;
}

/** `payment.completed` or `payment.failed` (docs/service-contracts.md). */
export function paymentEvent(payment: Payment): EventEnvelope {
  return payment.status === "completed"
    ? domainEvent("payment.completed", {
        orderId: payment.orderId,
        userId: payment.userId,
        paymentId: payment.id,
        amountCents: payment.amountCents,
        currency: payment.currency,
      })
    : domainEvent("payment.failed", {
        orderId: payment.orderId,
        userId: payment.userId,
        paymentId: payment.id,
        reason: failureReasonOf(payment),
      });
}
