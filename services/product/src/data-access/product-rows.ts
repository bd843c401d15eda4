import type { ImageType, ProductRecord, ProductSort } from "../domain/product.js";

/** A `products` row as the driver returns it. */
export interface ProductRow {
  id: string;
  sku: string;
  name: string;
  description: string;
  category: string;
  price_cents: number;
  currency: string;
  stock: number;
  image_key: string | null;
  image_content_type: string | null;
  image_sha256: string | null;
  image_size: number | null;
  created_at: Date;
  updated_at: Date;
}

export const PRODUCT_COLUMNS =
  "id, sku, name, description, category, price_cents, currency, stock, image_key, image_content_type, image_sha256, image_size, created_at, updated_at";

export function toRecord(row: ProductRow): ProductRecord {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    description: row.description,
    category: row.category,
    priceCents: Number(row.price_cents),
    currency: row.currency,
    stock: Number(row.stock),
    image:
      row.image_key && row.image_content_type && row.image_sha256
        ? {
            key: row.image_key,
            contentType: row.image_content_type as ImageType,
            sha256: row.image_sha256,
            size: Number(row.image_size ?? 0),
          }
        : null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Values in the column order of `PRODUCT_COLUMNS`. */
export const toValues = (p: ProductRecord): unknown[] => [
  p.id,
  p.sku,
  p.name,
  p.description,
  p.category,
  p.priceCents,
  p.currency,
  p.stock,
  p.image?.key ?? null,
  p.image?.contentType ?? null,
  p.image?.sha256 ?? null,
  p.image?.size ?? null,
  new Date(p.createdAt),
  new Date(p.updatedAt),
];

/** Every order ends on the id, so pages never overlap or skip when values tie. */
export const ORDER_BY: Record<Exclude<ProductSort, "relevance">, string> = {
  price_asc: "price_cents ASC, id ASC",
  price_desc: "price_cents DESC, id ASC",
  name: "name ASC, id ASC",
  newest: "created_at DESC, id DESC",
};

/** The WHERE fragment (and its parameters) for the structured filters. */
export function filterClause(filter: {
  category?: string | undefined;
  minPriceCents?: number | undefined;
  maxPriceCents?: number | undefined;
}): { sql: string[]; params: unknown[] } {
  const sql: string[] = [];
  const params: unknown[] = [];
  if (filter.category !== undefined) {
    sql.push("category = ?");
    params.push(filter.category);
  }
  if (filter.minPriceCents !== undefined) {
    sql.push("price_cents >= ?");
    params.push(filter.minPriceCents);
  }
  if (filter.maxPriceCents !== undefined) {
    sql.push("price_cents <= ?");
    params.push(filter.maxPriceCents);
  }
  return { sql, params };
}
