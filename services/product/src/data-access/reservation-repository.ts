import { setTimeout as sleep } from "node:timers/promises";
import {
  claimEvent,
  type Db,
  type DbConnection,
  enqueueEvent,
  isDuplicateKey,
  withTransaction,
} from "@shopstream/runtime";
import type { ReservationLine, ReservationStore, ReservationTx, StockRow } from "../domain/reservations.js";

/** Deadlock (1213) and lock wait timeout (1205): the transaction was rolled back; run it again. */
const isRetryable = (err: unknown) => [1213, 1205].includes((err as { errno?: number }).errno ?? 0);
const ATTEMPTS = 4;

function reservationTx(conn: DbConnection): ReservationTx {
  return {
    claimEvent: (consumer, eventId) => claimEvent(conn, consumer, eventId),

    async insertReservation(orderId) {
      try {
        // A concurrent request for the same order waits here until the first one commits or
        // rolls back, then either sees the duplicate or takes over.
        await conn.query("INSERT INTO reservations (order_id) VALUES (?)", [orderId]);
        return true;
      } catch (err) {
        if (isDuplicateKey(err)) return false;
        throw err;
      }
    },

    async insertReleased(orderId) {
      const result = await conn.query(
        "INSERT IGNORE INTO reservations (order_id, status, released_at) VALUES (?, 'released', CURRENT_TIMESTAMP(3))",
        [orderId],
      );
      return Number(result.affectedRows) === 1;
    },

    async lockReservation(orderId) {
      const rows: { status: "reserved" | "released" }[] = await conn.query(
        "SELECT status FROM reservations WHERE order_id = ? FOR UPDATE",
        [orderId],
      );
      return rows[0]?.status ?? null;
    },

    async lines(orderId) {
      const rows: {
        product_id: string;
        name: string;
        unit_price_cents: number;
        currency: string;
        quantity: number;
      }[] = await conn.query(
        `SELECT product_id, name, unit_price_cents, currency, quantity
           FROM reservation_lines WHERE order_id = ? ORDER BY line_no LOCK IN SHARE MODE`,
        [orderId],
      );
      return rows.map(
        (r): ReservationLine => ({
          productId: r.product_id,
          name: r.name,
          unitPriceCents: Number(r.unit_price_cents),
          currency: r.currency,
          quantity: Number(r.quantity),
        }),
      );
    },

    async lockStock(productIds) {
      const ids = [...new Set(productIds)].sort();
      if (ids.length === 0) return [];
      const rows: { id: string; name: string; price_cents: number; currency: string; stock: number }[] =
        await conn.query(
          "SELECT id, name, price_cents, currency, stock FROM products WHERE id IN (?) ORDER BY id FOR UPDATE",
          [ids],
        );
      return rows.map(
        (r): StockRow => ({
          id: r.id,
          name: r.name,
          priceCents: Number(r.price_cents),
          currency: r.currency,
          stock: Number(r.stock),
        }),
      );
    },

    async takeStock(productId, quantity) {
      const result = await conn.query(
        "UPDATE products SET stock = stock - ?, updated_at = CURRENT_TIMESTAMP(3) WHERE id = ? AND stock >= ?",
        [quantity, productId, quantity],
      );
      return Number(result.affectedRows) === 1;
    },

    async returnStock(productId, quantity) {
      await conn.query(
        "UPDATE products SET stock = stock + ?, updated_at = CURRENT_TIMESTAMP(3) WHERE id = ?",
        [quantity, productId],
      );
    },

    async insertLines(orderId, lines) {
      if (lines.length === 0) return;
      await conn.batch(
        `INSERT INTO reservation_lines (order_id, line_no, product_id, name, unit_price_cents, currency, quantity)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        lines.map((l, i) => [orderId, i + 1, l.productId, l.name, l.unitPriceCents, l.currency, l.quantity]),
      );
    },

    async markReleased(orderId) {
      await conn.query(
        "UPDATE reservations SET status = 'released', released_at = CURRENT_TIMESTAMP(3) WHERE order_id = ?",
        [orderId],
      );
    },

    publish: (event) => enqueueEvent(conn, event),
  };
}

export function createReservationRepository(db: Db): ReservationStore {
  return {
    async transaction(work) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await withTransaction(db, (conn) => work(reservationTx(conn)));
        } catch (err) {
          if (!isRetryable(err) || attempt >= ATTEMPTS) throw err;
          await sleep(10 * attempt + Math.random() * 40);
        }
      }
    },
  };
}
