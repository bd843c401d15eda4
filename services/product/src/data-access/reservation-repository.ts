import { setTimeout as sleep } from "node:timers/promises";
import {
  claimEvent,
  type Db,
  type DbConnection,
  enqueueEvent,
  isDuplicateKey,
  withTransaction,
} from "@shopstream/runtime";
import type { ReservationStore, ReservationTx, StockRow } from "../domain/ports.js";
import type { ReservationLine } from "../domain/reservations.js";

/** Deadlock (1213) and lock wait timeout (1205): the transaction was rolled back; run it again. */
const isRetryable = (err: unknown) => [1213, 1205].includes((err as { errno?: number }).errno ?? 0);
const ATTEMPTS = 4;

async function stockRows(conn: DbConnection, productIds: string[], lock: "" | " FOR UPDATE") {
  const ids = [...new Set(productIds)].sort();
  if (ids.length === 0) return [];
  const rows: { id: string; name: string; price_cents: number; currency: string; stock: number }[] =
    await conn.query(
      `SELECT id, name, price_cents, currency, stock FROM products WHERE id IN (?) ORDER BY id${lock}`,
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
}

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

    lockStock: (productIds) => stockRows(conn, productIds, " FOR UPDATE"),

    readStock: (productIds) => stockRows(conn, productIds, ""),

    async commitTakingStock(lines) {
      // One compound statement (MariaDB runs BEGIN NOT ATOMIC … END outside stored programs):
      // the UPDATEs lock the rows, and the COMMIT or ROLLBACK in the same statement frees them
      // before this service hears back. ROW_COUNT() adds up the lines taken.
      const ordered = [...lines].sort((a, b) =>
        a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0,
      );
      const take = `UPDATE products SET stock = stock - ?, updated_at = CURRENT_TIMESTAMP(3)
           WHERE id = ? AND stock >= ? AND name = ? AND price_cents = ? AND currency = ?;
         SET taken = taken + ROW_COUNT();`;
      const [result] = (await conn.query(
        `BEGIN NOT ATOMIC
           DECLARE taken INT DEFAULT 0;
           ${ordered.map(() => take).join("\n")}
           IF taken = ? THEN COMMIT; ELSE ROLLBACK; END IF;
           SELECT taken;
         END`,
        [
          ...ordered.flatMap((l) => [
            l.quantity,
            l.productId,
            l.quantity,
            l.name,
            l.unitPriceCents,
            l.currency,
          ]),
          ordered.length,
        ],
      )) as [{ taken: number }[]];
      return Number(result[0]?.taken) === ordered.length;
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
