import {
  type Db,
  type DbConnection,
  type EventEnvelope,
  enqueueEvent,
  isDuplicateKey,
  withTransaction,
} from "@shopstream/runtime";
import type { CatalogSeeder, CatalogStore, CatalogTx } from "../domain/ports.js";
import { type Category, type ProductRecord, SkuTakenError } from "../domain/product.js";
import {
  filterClause,
  ORDER_BY,
  PRODUCT_COLUMNS,
  type ProductRow,
  toRecord,
  toValues,
} from "./product-rows.js";

const INSERT = `INSERT INTO products (${PRODUCT_COLUMNS}) VALUES (${PRODUCT_COLUMNS.split(",")
  .map(() => "?")
  .join(", ")})`;

async function insertProduct(conn: DbConnection, product: ProductRecord): Promise<void> {
  try {
    await conn.query(INSERT, toValues(product));
  } catch (err) {
    if (isDuplicateKey(err)) throw new SkuTakenError(product.sku);
    throw err;
  }
}

function catalogTx(conn: DbConnection): CatalogTx {
  return {
    insert: (product) => insertProduct(conn, product),
    async lock(id) {
      const rows: ProductRow[] = await conn.query(
        `SELECT ${PRODUCT_COLUMNS} FROM products WHERE id = ? FOR UPDATE`,
        [id],
      );
      return rows[0] ? toRecord(rows[0]) : null;
    },
    async update(p) {
      try {
        await conn.query(
          `UPDATE products SET sku = ?, name = ?, description = ?, category = ?, price_cents = ?, currency = ?,
             stock = ?, image_key = ?, image_content_type = ?, image_sha256 = ?, image_size = ?, updated_at = ?
           WHERE id = ?`,
          [...toValues(p).slice(1, 12), new Date(p.updatedAt), p.id],
        );
      } catch (err) {
        if (isDuplicateKey(err)) throw new SkuTakenError(p.sku);
        throw err;
      }
    },
    async delete(id) {
      await conn.query("DELETE FROM products WHERE id = ?", [id]);
    },
    publish: (event) => enqueueEvent(conn, event),
  };
}

/** The catalog in MariaDB: reads, transactional writes with their outbox events, and the seed. */
export function createProductRepository(db: Db): CatalogStore & CatalogSeeder {
  return {
    async findById(id) {
      const rows: ProductRow[] = await db.query(`SELECT ${PRODUCT_COLUMNS} FROM products WHERE id = ?`, [id]);
      return rows[0] ? toRecord(rows[0]) : null;
    },

    async findByIds(ids) {
      if (ids.length === 0) return [];
      const rows: ProductRow[] = await db.query(`SELECT ${PRODUCT_COLUMNS} FROM products WHERE id IN (?)`, [
        ids,
      ]);
      return rows.map(toRecord);
    },

    async list(filter, sort, offset, limit) {
      const where = filterClause(filter);
      const whereSql = where.sql.length ? `WHERE ${where.sql.join(" AND ")}` : "";
      const order = ORDER_BY[sort === "relevance" ? "newest" : sort];
      const [rows, counted] = await Promise.all([
        db.query(`SELECT ${PRODUCT_COLUMNS} FROM products ${whereSql} ORDER BY ${order} LIMIT ? OFFSET ?`, [
          ...where.params,
          limit,
          offset,
        ]) as Promise<ProductRow[]>,
        db.query(`SELECT COUNT(*) AS n FROM products ${whereSql}`, where.params) as Promise<{ n: number }[]>,
      ]);
      return { items: rows.map(toRecord), total: Number(counted[0]?.n ?? 0) };
    },

    async categories() {
      const rows: { name: string; count: number }[] = await db.query(
        "SELECT MIN(category) AS name, COUNT(*) AS count FROM products GROUP BY category ORDER BY name",
      );
      return rows.map((r): Category => ({ name: r.name, count: Number(r.count) }));
    },

    async *all(batchSize = 500) {
      let after = "";
      for (;;) {
        const rows: ProductRow[] = await db.query(
          `SELECT ${PRODUCT_COLUMNS} FROM products WHERE id > ? ORDER BY id LIMIT ?`,
          [after, batchSize],
        );
        for (const row of rows) yield toRecord(row);
        if (rows.length < batchSize) return;
        after = rows[rows.length - 1]!.id;
      }
    },

    async *changedSince(since) {
      const rows: ProductRow[] = await db.query(
        `SELECT ${PRODUCT_COLUMNS} FROM products WHERE updated_at >= ? ORDER BY id`,
        [since],
      );
      for (const row of rows) yield toRecord(row);
    },

    write: (work) => withTransaction(db, (conn) => work(catalogTx(conn))),

    async seedOnce(build) {
      const conn = await db.getConnection();
      try {
        // Named locks are server-wide: scope this one to the database.
        const [lock] = await conn.query("SELECT GET_LOCK(CONCAT(DATABASE(), '.catalog_seed'), 60) AS got");
        if (Number(lock.got) !== 1) throw new Error("could not take the catalog seed lock within 60 s");
        try {
          const [state] = await conn.query(
            "SELECT (SELECT COUNT(*) FROM catalog_seed) AS seeded, (SELECT COUNT(*) FROM products) AS products",
          );
          if (Number(state.seeded) > 0 || Number(state.products) > 0) return 0;
          const { products, events } = await build();
          await conn.beginTransaction();
          try {
            for (const product of products) await insertProduct(conn, product);
            for (const event of events as EventEnvelope<unknown>[]) await enqueueEvent(conn, event);
            await conn.query("INSERT INTO catalog_seed (id, products) VALUES (1, ?)", [products.length]);
            await conn.commit();
          } catch (err) {
            await conn.rollback().catch(() => undefined);
            throw err;
          }
          return products.length;
        } finally {
          await conn.query("SELECT RELEASE_LOCK(CONCAT(DATABASE(), '.catalog_seed'))");
        }
      } finally {
        await conn.release();
      }
    },
  };
}
