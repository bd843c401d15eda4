import { type DbConnection, isDuplicateKey } from "@shopstream/runtime";
import type { Payment } from "../domain/payment.js";

export class PaymentRepository {
  /** Inserts the order's payment; false when the order already has one. */
  async insert(conn: DbConnection, p: Payment): Promise<boolean> {
    try {
      await conn.query(
        `INSERT INTO payments
           (id, order_id, user_id, amount_cents, currency, token, status, failure_reason, event_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          p.id,
          p.orderId,
          p.userId,
          p.amountCents,
          p.currency,
          p.token,
          p.status,
          p.failureReason,
          p.eventId,
          p.createdAt,
        ],
      );
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }
}
