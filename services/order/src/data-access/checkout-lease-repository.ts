import type { Db } from "@shopstream/runtime";
import type { CheckoutLeaseStore } from "../domain/ports.js";

/**
 * One checkout at a time per buyer: a row per user, held under the fencing token of the
 * checkout that owns it (its Idempotency-Key's token). Times are the database's clock
 * (`NOW(3)`), so replicas with skewed clocks agree. The holder renews it while it works; a
 * crashed process's lease simply expires and the next checkout takes it over.
 */
export class CheckoutLeaseRepository implements CheckoutLeaseStore {
  constructor(private readonly db: Db) {}

  /** Takes the user's lease for `holder` unless another live checkout holds it; true if ours. */
  async acquire(userId: string, holder: string, orderId: string, leaseMs: number): Promise<boolean> {
    // One atomic upsert: a fresh row, or an expired one taken over. The assignments run left
    // to right, so every IF still sees the old expires_at. A live lease is left untouched.
    await this.db.query(
      `INSERT INTO checkout_leases (user_id, holder, order_id, expires_at)
         VALUES (?, ?, ?, NOW(3) + INTERVAL ? MICROSECOND)
       ON DUPLICATE KEY UPDATE
         holder = IF(expires_at < NOW(3), VALUES(holder), holder),
         order_id = IF(expires_at < NOW(3), VALUES(order_id), order_id),
         expires_at = IF(expires_at < NOW(3), VALUES(expires_at), expires_at)`,
      [userId, holder, orderId, leaseMs * 1000],
    );
    const rows: { holder: string | null }[] = await this.db.query(
      "SELECT holder FROM checkout_leases WHERE user_id = ?",
      [userId],
    );
    return rows[0]?.holder === holder;
  }

  /** Extends the lease; false when it is no longer `holder`'s. */
  async renew(userId: string, holder: string, leaseMs: number): Promise<boolean> {
    const result = await this.db.query(
      "UPDATE checkout_leases SET expires_at = NOW(3) + INTERVAL ? MICROSECOND WHERE user_id = ? AND holder = ?",
      [leaseMs * 1000, userId, holder],
    );
    return Number(result.affectedRows) === 1;
  }

  /** Frees the lease, if it is still `holder`'s. */
  async release(userId: string, holder: string): Promise<void> {
    await this.db.query("DELETE FROM checkout_leases WHERE user_id = ? AND holder = ?", [userId, holder]);
  }
}
