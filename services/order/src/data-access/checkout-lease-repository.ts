import type { Db } from "@shopstream/runtime";

/**
 * One checkout at a time per buyer: a row per user, held by the order id of the checkout that
 * owns it. Times are the database's clock (`NOW(3)`), so replicas with skewed clocks agree.
 * A crashed process's lease simply expires and the next checkout takes it over.
 */
export class CheckoutLeaseRepository {
  constructor(private readonly db: Db) {}

  /** Takes the user's lease for `orderId` unless another live checkout holds it; true if ours. */
  async acquire(userId: string, orderId: string, leaseMs: number): Promise<boolean> {
    // One atomic upsert: a fresh row, or an expired one taken over. The assignments run left
    // to right, so both IFs still see the old expires_at. A live lease is left untouched.
    await this.db.query(
      `INSERT INTO checkout_leases (user_id, order_id, expires_at)
         VALUES (?, ?, NOW(3) + INTERVAL ? MICROSECOND)
       ON DUPLICATE KEY UPDATE
         order_id = IF(expires_at < NOW(3), VALUES(order_id), order_id),
         expires_at = IF(expires_at < NOW(3), VALUES(expires_at), expires_at)`,
      [userId, orderId, leaseMs * 1000],
    );
    const rows: { order_id: string }[] = await this.db.query(
      "SELECT order_id FROM checkout_leases WHERE user_id = ?",
      [userId],
    );
    return rows[0]?.order_id === orderId;
  }

  /** Frees the lease, if it is still this checkout's. */
  async release(userId: string, orderId: string): Promise<void> {
    await this.db.query("DELETE FROM checkout_leases WHERE user_id = ? AND order_id = ?", [userId, orderId]);
  }
}
