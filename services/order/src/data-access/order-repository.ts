import type { Db, DbConnection } from "@shopstream/runtime";
import type { Order, OrderLine, OrderStatus } from "../domain/order.js";
import type { OrderFilter, OrderStore, StatusChange } from "../domain/ports.js";

/** A pool or a connection in a transaction: reads work on both. */
export type Queryable = Db | DbConnection;

interface OrderRow {
  id: string;
  user_id: string;
  status: OrderStatus;
  total_cents: number;
  currency: string;
  payment_token: string | null;
  payment_id: string | null;
  failure_reason: string | null;
  refunded_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

interface LineRow {
  order_id: string;
  product_id: string;
  name: string;
  unit_price_cents: number;
  quantity: number;
}

const COLUMNS =
  "id, user_id, status, total_cents, currency, payment_token, payment_id, failure_reason, created_at, updated_at";

export class OrderRepository implements OrderStore {
  constructor(private readonly db: Db) {}

  /** Inserts the order, its lines and the first history entry (in the caller's transaction). */
  async insert(conn: DbConnection, order: Order): Promise<void> {
    await conn.query(`INSERT INTO orders (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      order.id,
      order.userId,
      order.status,
      order.totalCents,
      order.currency,
      order.paymentToken,
      order.paymentId,
      order.failureReason,
      order.createdAt,
      order.updatedAt,
    ]);
    await conn.batch(
      "INSERT INTO order_items (order_id, line_no, product_id, name, unit_price_cents, quantity) VALUES (?, ?, ?, ?, ?, ?)",
      order.items.map((line, i) => [
        order.id,
        i + 1,
        line.productId,
        line.name,
        line.unitPriceCents,
        line.quantity,
      ]),
    );
    await conn.query(
      "INSERT INTO order_status_history (order_id, from_status, to_status, cause, at) VALUES (?, NULL, ?, 'checkout', ?)",
      [order.id, order.status, order.createdAt],
    );
  }

  /** One order with its lines; `forUpdate` locks the row until the transaction ends. */
  async find(
    id: string,
    options: { conn?: DbConnection; forUpdate?: boolean } = {},
  ): Promise<Order | undefined> {
    const q: Queryable = options.conn ?? this.db;
    const rows: OrderRow[] = await q.query(
      `SELECT ${COLUMNS}, refunded_at FROM orders WHERE id = ?${options.forUpdate ? " FOR UPDATE" : ""}`,
      [id],
    );
    const row = rows[0];
    if (!row) return undefined;
    const [order] = await this.withLines(q, [row]);
    return order;
  }

  async list(filter: OrderFilter): Promise<{ items: Order[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.userId) {
      where.push("user_id = ?");
      params.push(filter.userId);
    }
    if (filter.status) {
      where.push("status = ?");
      params.push(filter.status);
    }
    const clause = where.length ? `WHERE ${where.join(" AND ")}` : "";
    const [count] = await this.db.query(`SELECT COUNT(*) AS n FROM orders ${clause}`, params);
    const rows: OrderRow[] = await this.db.query(
      `SELECT ${COLUMNS}, refunded_at FROM orders ${clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
      [...params, filter.limit, (filter.page - 1) * filter.limit],
    );
    return { items: await this.withLines(this.db, rows), total: Number(count.n) };
  }

  /** Moves the order from `change.from` (checked under the row lock) and records why. */
  async changeStatus(conn: DbConnection, orderId: string, change: StatusChange): Promise<void> {
    const result = await conn.query(
      `UPDATE orders
          SET status = ?, updated_at = ?,
              payment_id = COALESCE(?, payment_id), failure_reason = COALESCE(?, failure_reason)
        WHERE id = ? AND status = ?`,
      [change.to, change.at, change.paymentId ?? null, change.failureReason ?? null, orderId, change.from],
    );
    if (Number(result.affectedRows) !== 1) {
      throw new Error(`order ${orderId} was not ${change.from} when moving it to ${change.to}`);
    }
    await conn.query(
      "INSERT INTO order_status_history (order_id, from_status, to_status, cause, event_id, at) VALUES (?, ?, ?, ?, ?, ?)",
      [orderId, change.from, change.to, change.cause, change.eventId ?? null, change.at],
    );
  }

  /** Records that the order's payment was refunded; false when it already was, or is unknown. */
  async markRefunded(conn: DbConnection, orderId: string, at: Date): Promise<boolean> {
    const result = await conn.query(
      "UPDATE orders SET refunded_at = ? WHERE id = ? AND refunded_at IS NULL",
      [at, orderId],
    );
    return Number(result.affectedRows) === 1;
  }

  async exists(id: string): Promise<boolean> {
    const rows = await this.db.query("SELECT 1 FROM orders WHERE id = ?", [id]);
    return rows.length > 0;
  }

  private async withLines(q: Queryable, rows: OrderRow[]): Promise<Order[]> {
    if (rows.length === 0) return [];
    const lines: LineRow[] = await q.query(
      "SELECT order_id, product_id, name, unit_price_cents, quantity FROM order_items WHERE order_id IN (?) ORDER BY order_id, line_no",
      [rows.map((r) => r.id)],
    );
    const byOrder = new Map<string, OrderLine[]>();
    for (const l of lines) {
      const list = byOrder.get(l.order_id) ?? [];
      list.push({
        productId: l.product_id,
        name: l.name,
        unitPriceCents: Number(l.unit_price_cents),
        quantity: Number(l.quantity),
      });
      byOrder.set(l.order_id, list);
    }
    return rows.map((r) => ({
      id: r.id,
      userId: r.user_id,
      status: r.status,
      items: byOrder.get(r.id) ?? [],
      totalCents: Number(r.total_cents),
      currency: r.currency,
      paymentToken: r.payment_token,
      paymentId: r.payment_id,
      failureReason: r.failure_reason,
      refundedAt: r.refunded_at ?? null,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }));
  }
}
