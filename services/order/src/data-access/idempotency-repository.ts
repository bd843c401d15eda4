import { type Db, type DbConnection, isDuplicateKey } from "@shopstream/runtime";

/** What a checkout learns when it claims its Idempotency-Key. */
export type KeyClaim =
  /** This request owns the key and creates order `orderId` (new, or taken over after a crash). */
  | { kind: "owner"; orderId: string }
  /** The key already produced order `orderId`: answer it again with the same status. */
  | { kind: "replay"; orderId: string; status: number }
  /** The key was used with another request body. */
  | { kind: "mismatch" }
  /** Another request with this key is still in progress. */
  | { kind: "busy" };

export interface ClaimRequest {
  userId: string;
  keyHash: string;
  fingerprint: string;
  /** The order id this request uses if it becomes the key's first owner. */
  orderId: string;
  now: Date;
  leaseMs: number;
  ttlMs: number;
}

interface KeyRow {
  fingerprint: string;
  order_id: string;
  state: "in_progress" | "completed";
  response_status: number | null;
  locked_until: Date;
  expires_at: Date;
}

export interface AbandonedCheckout {
  userId: string;
  keyHash: string;
  orderId: string;
}

/**
 * Idempotency records in MariaDB, beside the orders: a key is completed in the same
 * transaction that writes its order, so a crash can never leave an order without its key or
 * a completed key without its order. Keys are per user.
 */
export class IdempotencyRepository {
  constructor(private readonly db: Db) {}

  async claim(req: ClaimRequest): Promise<KeyClaim> {
    const lockedUntil = new Date(req.now.getTime() + req.leaseMs);
    // A few rounds at most: each lost race means the row changed under us.
    for (let round = 0; round < 5; round++) {
      try {
        await this.db.query(
          `INSERT INTO idempotency_keys
             (user_id, key_hash, fingerprint, order_id, state, locked_until, expires_at, created_at)
           VALUES (?, ?, ?, ?, 'in_progress', ?, ?, ?)`,
          [
            req.userId,
            req.keyHash,
            req.fingerprint,
            req.orderId,
            lockedUntil,
            new Date(req.now.getTime() + req.ttlMs),
            req.now,
          ],
        );
        return { kind: "owner", orderId: req.orderId };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const rows: KeyRow[] = await this.db.query(
        `SELECT fingerprint, order_id, state, response_status, locked_until, expires_at
           FROM idempotency_keys WHERE user_id = ? AND key_hash = ?`,
        [req.userId, req.keyHash],
      );
      const row = rows[0];
      if (!row) continue;
      if (row.expires_at <= req.now) {
        // Older than 24 h: forgotten, the key is free again.
        await this.db.query(
          "DELETE FROM idempotency_keys WHERE user_id = ? AND key_hash = ? AND expires_at <= ?",
          [req.userId, req.keyHash, req.now],
        );
        continue;
      }
      if (row.fingerprint !== req.fingerprint) return { kind: "mismatch" };
      if (row.state === "completed") {
        return { kind: "replay", orderId: row.order_id, status: Number(row.response_status ?? 201) };
      }
      if (row.locked_until > req.now) return { kind: "busy" };
      // Its owner died mid-checkout: take over with the same order id, so the product's
      // reservation (idempotent by order id) and the order row cannot be made twice.
      const taken = await this.db.query(
        `UPDATE idempotency_keys SET locked_until = ?
          WHERE user_id = ? AND key_hash = ? AND state = 'in_progress' AND locked_until = ?`,
        [lockedUntil, req.userId, req.keyHash, row.locked_until],
      );
      if (Number(taken.affectedRows) === 1) return { kind: "owner", orderId: row.order_id };
    }
    return { kind: "busy" };
  }

  /** Marks the key done, in the transaction that writes its order; false if it was not ours. */
  async complete(
    conn: DbConnection,
    userId: string,
    keyHash: string,
    orderId: string,
    status: number,
  ): Promise<boolean> {
    const result = await conn.query(
      `UPDATE idempotency_keys SET state = 'completed', response_status = ?
        WHERE user_id = ? AND key_hash = ? AND order_id = ? AND state = 'in_progress'`,
      [status, userId, keyHash, orderId],
    );
    return Number(result.affectedRows) === 1;
  }

  /** Frees a key whose checkout failed, so the client may retry with it. */
  async forget(userId: string, keyHash: string, orderId: string): Promise<void> {
    await this.db.query(
      "DELETE FROM idempotency_keys WHERE user_id = ? AND key_hash = ? AND order_id = ? AND state = 'in_progress'",
      [userId, keyHash, orderId],
    );
  }

  /**
   * Checkouts whose owner vanished (crash, kill) before writing the order; each returned row
   * is leased to the caller, who compensates and then forgets it.
   */
  async takeAbandoned(now: Date, leaseMs: number, limit = 50): Promise<AbandonedCheckout[]> {
    const rows: (KeyRow & { user_id: string; key_hash: string })[] = await this.db.query(
      `SELECT user_id, key_hash, order_id, locked_until FROM idempotency_keys
        WHERE state = 'in_progress' AND locked_until < ? ORDER BY locked_until LIMIT ?`,
      [now, limit],
    );
    const taken: AbandonedCheckout[] = [];
    for (const row of rows) {
      const result = await this.db.query(
        `UPDATE idempotency_keys SET locked_until = ?
          WHERE user_id = ? AND key_hash = ? AND state = 'in_progress' AND locked_until = ?`,
        [new Date(now.getTime() + leaseMs), row.user_id, row.key_hash, row.locked_until],
      );
      if (Number(result.affectedRows) === 1) {
        taken.push({ userId: row.user_id, keyHash: row.key_hash, orderId: row.order_id });
      }
    }
    return taken;
  }

  /** Keys are remembered for their TTL only. */
  async deleteExpired(now: Date): Promise<number> {
    const result = await this.db.query(
      "DELETE FROM idempotency_keys WHERE expires_at <= ? AND state = 'completed' LIMIT 1000",
      [now],
    );
    return Number(result.affectedRows);
  }
}
