import { type DbConnection, isDuplicateKey } from "@shopstream/runtime";
import type { Payment } from "../domain/payment.js";
import type { PaymentRow, PaymentStore } from "../domain/ports.js";

export class PaymentRepository implements PaymentStore {
  /** The order's payment, locked until the transaction ends. */
  async lockForOrder(conn: DbConnection, orderId: string): Promise<PaymentRow | undefined> {
    const rows: { id: string; status: Payment["status"]; amount_cents: number; currency: string }[] =
      await conn.query(
        "SELECT id, status, amount_cents, currency FROM payments WHERE order_id = ? FOR UPDATE",
        [orderId],
      );
    const row = rows[0];
    return (
      row && { id: row.id, status: row.status, amountCents: Number(row.amount_cents), currency: row.currency }
    );
  }

  async markRefunded(conn: DbConnection, paymentId: string, at: Date): Promise<void> {
    await conn.query(
      "UPDATE payments SET status = 'refunded', refunded_at = ? WHERE id = ? AND status = 'completed'",
      [at, paymentId],
    );
  }

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
