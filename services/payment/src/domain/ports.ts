import type { DbConnection } from "@shopstream/runtime";
import type { Payment } from "./payment.js";

/** A payment as a refund needs it. */
export interface PaymentRow {
  id: string;
  status: Payment["status"];
  amountCents: number;
  currency: string;
}

/** One payment per order, written in the caller's transaction (MariaDB, in data-access/). */
export interface PaymentStore {
  /** Inserts the order's payment; false when the order already has one. */
  insert(conn: DbConnection, p: Payment): Promise<boolean>;
  /** The order's payment, locked until the transaction ends. */
  lockForOrder(conn: DbConnection, orderId: string): Promise<PaymentRow | undefined>;
  /** Marks a completed payment refunded; a payment in any other state is left alone. */
  markRefunded(conn: DbConnection, paymentId: string, at: Date): Promise<void>;
}
