import { type Db, type DbConnection, isDuplicateKey } from "@shopstream/runtime";
import type { AbandonedCheckout, ClaimRequest, IdempotencyStore, KeyClaim } from "../domain/ports.js";

interface KeyRow {
  fingerprint: string;
  order_id: string;
  state: "in_progress" | "completed";
  response_status: number | null;
  owner_token: string | null;
  locked: number;
  expired: number;
}

/** `NOW(3)` plus a lease: every time here is the database's, so replicas' clocks do not matter. */
const LEASE_END = "NOW(3) + INTERVAL ? MICROSECOND";

/**
 * Idempotency records in MariaDB, beside the orders: a key is completed in the same
 * transaction that writes its order, so a crash can never leave an order without its key or
 * a completed key without its order. Keys are per user. Each owner holds the key under its own
 * fencing token for a lease it renews; all times are the database's clock.
 */
export class IdempotencyRepository implements IdempotencyStore {
  constructor(private readonly db: Db) {}

  async claim(req: ClaimRequest): Promise<KeyClaim> {
    const leaseUs = req.leaseMs * 1000;
    // A few rounds at most: each lost race means the row changed under us.
    for (let round = 0; round < 5; round++) {
      try {
        await this.db.query(
          `INSERT INTO idempotency_keys
             (user_id, key_hash, fingerprint, order_id, owner_token, state, locked_until, expires_at, created_at)
           VALUES (?, ?, ?, ?, ?, 'in_progress', ${LEASE_END}, NOW(3) + INTERVAL ? SECOND, NOW(3))`,
          [
            req.userId,
            req.keyHash,
            req.fingerprint,
            req.orderId,
            req.token,
            leaseUs,
            Math.ceil(req.ttlMs / 1000),
          ],
        );
        return { kind: "owner", orderId: req.orderId, token: req.token };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const rows: KeyRow[] = await this.db.query(
        `SELECT fingerprint, order_id, state, response_status, owner_token,
                locked_until > NOW(3) AS locked, expires_at <= NOW(3) AS expired
           FROM idempotency_keys WHERE user_id = ? AND key_hash = ?`,
        [req.userId, req.keyHash],
      );
      const row = rows[0];
      if (!row) continue;
      if (Number(row.expired)) {
        // Older than its TTL: forgotten, the key is free again.
        await this.db.query(
          "DELETE FROM idempotency_keys WHERE user_id = ? AND key_hash = ? AND expires_at <= NOW(3)",
          [req.userId, req.keyHash],
        );
        continue;
      }
      if (row.fingerprint !== req.fingerprint) return { kind: "mismatch" };
      if (row.state === "completed") {
        return { kind: "replay", orderId: row.order_id, status: Number(row.response_status ?? 201) };
      }
      if (Number(row.locked)) return { kind: "busy" };
      // Its owner vanished or stalled past its lease: fence it out by taking the key under our
      // token. Its order id may hold a reservation that the caller must release.
      if (await this.takeOver(req.userId, req.keyHash, row.owner_token, req.token, req.leaseMs)) {
        return { kind: "owner", orderId: row.order_id, token: req.token, abandonedOrderId: row.order_id };
      }
    }
    return { kind: "busy" };
  }

  /** Takes an expired key from `from` (compare-and-set on the token); true if now ours. */
  private async takeOver(
    userId: string,
    keyHash: string,
    from: string | null,
    token: string,
    leaseMs: number,
  ): Promise<boolean> {
    const taken = await this.db.query(
      `UPDATE idempotency_keys SET owner_token = ?, locked_until = ${LEASE_END}
        WHERE user_id = ? AND key_hash = ? AND state = 'in_progress'
          AND owner_token <=> ? AND locked_until <= NOW(3)`,
      [token, leaseMs * 1000, userId, keyHash, from],
    );
    return Number(taken.affectedRows) === 1;
  }

  /** Moves the key to a fresh order id once the abandoned one was released; false if no longer ours. */
  async moveToOrder(userId: string, keyHash: string, token: string, orderId: string): Promise<boolean> {
    const result = await this.db.query(
      `UPDATE idempotency_keys SET order_id = ?
        WHERE user_id = ? AND key_hash = ? AND owner_token = ? AND state = 'in_progress'`,
      [orderId, userId, keyHash, token],
    );
    return Number(result.affectedRows) === 1;
  }

  /** Extends the owner's lease; false when the key is no longer this owner's. */
  async renew(userId: string, keyHash: string, token: string, leaseMs: number): Promise<boolean> {
    const result = await this.db.query(
      `UPDATE idempotency_keys SET locked_until = ${LEASE_END}
        WHERE user_id = ? AND key_hash = ? AND owner_token = ? AND state = 'in_progress'`,
      [leaseMs * 1000, userId, keyHash, token],
    );
    return Number(result.affectedRows) === 1;
  }

  /**
   * Marks the key done, in the transaction that writes its order; false if it is no longer this
   * owner's (fenced): the transaction must then roll back.
   */
  async complete(
    conn: DbConnection,
    key: { userId: string; keyHash: string; orderId: string; token: string },
    status: number,
  ): Promise<boolean> {
    const result = await conn.query(
      `UPDATE idempotency_keys SET state = 'completed', response_status = ?
        WHERE user_id = ? AND key_hash = ? AND order_id = ? AND owner_token = ? AND state = 'in_progress'`,
      [status, key.userId, key.keyHash, key.orderId, key.token],
    );
    return Number(result.affectedRows) === 1;
  }

  /** Frees a key whose checkout failed, so the client may retry with it; only its owner can. */
  async forget(userId: string, keyHash: string, token: string): Promise<void> {
    await this.db.query(
      "DELETE FROM idempotency_keys WHERE user_id = ? AND key_hash = ? AND owner_token = ? AND state = 'in_progress'",
      [userId, keyHash, token],
    );
  }

  /**
   * Checkouts whose owner vanished (crash, kill, a stall past its lease) before writing the
   * order; each returned key is taken under `newToken()` (so its old owner can no longer
   * complete it) and leased to the caller, who releases its reservation and then forgets it.
   */
  async takeAbandoned(leaseMs: number, newToken: () => string, limit = 50): Promise<AbandonedCheckout[]> {
    const rows: { user_id: string; key_hash: string; order_id: string; owner_token: string | null }[] =
      await this.db.query(
        `SELECT user_id, key_hash, order_id, owner_token FROM idempotency_keys
          WHERE state = 'in_progress' AND locked_until <= NOW(3) ORDER BY locked_until LIMIT ?`,
        [limit],
      );
    const taken: AbandonedCheckout[] = [];
    for (const row of rows) {
      const token = newToken();
      if (await this.takeOver(row.user_id, row.key_hash, row.owner_token, token, leaseMs)) {
        taken.push({ userId: row.user_id, keyHash: row.key_hash, orderId: row.order_id, token });
      }
    }
    return taken;
  }

  /** Keys are remembered for their TTL only. */
  async deleteExpired(): Promise<number> {
    const result = await this.db.query(
      "DELETE FROM idempotency_keys WHERE expires_at <= NOW(3) AND state = 'completed' LIMIT 1000",
    );
    return Number(result.affectedRows);
  }
}
