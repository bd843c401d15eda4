import { randomBytes } from "node:crypto";
/** The catalog's own vocabulary, free of HTTP and SQL. */

export const PRODUCT_SORTS = ["price_asc", "price_desc", "name", "newest", "relevance"] as const;
export type ProductSort = (typeof PRODUCT_SORTS)[number];

export const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp"] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

export interface ProductImage {
  /** Where the bytes live in the image store; content-addressed, so a new image gets a new key. */
  key: string;
  contentType: ImageType;
  /** SHA-256 of the bytes, hex: the HTTP ETag. */
  sha256: string;
  size: number;
}

export interface ProductRecord {
  id: string;
  sku: string;
  name: string;
  description: string;
  category: string;
  priceCents: number;
  currency: string;
  stock: number;
  image: ProductImage | null;
  /** ISO-8601 UTC. */
  createdAt: string;
  updatedAt: string;
}

/** The public JSON of a product (docs/service-contracts.md). */
export interface ProductJson {
  id: string;
  sku: string;
  name: string;
  description: string;
  category: string;
  priceCents: number;
  currency: string;
  stock: number;
  imageUrl: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The gateway strips `/api`; the browser only ever sees the public path. */
export const imageUrlOf = (id: string) => `/api/products/${id}/image`;

export function toProductJson(p: ProductRecord): ProductJson {
  return {
    id: p.id,
    sku: p.sku,
    name: p.name,
    description: p.description,
    category: p.category,
    priceCents: p.priceCents,
    currency: p.currency,
    stock: p.stock,
    imageUrl: p.image ? imageUrlOf(p.id) : null,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

export interface NewProduct {
  sku: string;
  name: string;
  description: string;
  category: string;
  priceCents: number;
  currency: string;
  stock: number;
}

export type ProductPatch = Partial<NewProduct>;

/** A SKU for a product created without one: the category's initials and random hex. */
export function generateSku(category: string): string {
  const initials =
    category
      .replace(/[^A-Za-z0-9]/g, "")
      .slice(0, 3)
      .toUpperCase() || "SKU";
  return `${initials}-${randomBytes(4).toString("hex").toUpperCase()}`;
}

export interface ProductFilter {
  category?: string | undefined;
  minPriceCents?: number | undefined;
  maxPriceCents?: number | undefined;
}

export interface ListQuery extends ProductFilter {
  /** Free text; empty or absent lists without searching. */
  q?: string | undefined;
  sort?: ProductSort | undefined;
  page: number;
  limit: number;
}

export interface ProductPage {
  items: ProductRecord[];
  total: number;
  page: number;
  limit: number;
}

export interface Category {
  name: string;
  count: number;
}

/** What the search backends index: the fields a shopper searches, filters and sorts by. */
export interface SearchDocument {
  id: string;
  sku: string;
  name: string;
  description: string;
  category: string;
  priceCents: number;
  currency: string;
  createdAt: string;
}

export const toSearchDocument = (p: ProductRecord): SearchDocument => ({
  id: p.id,
  sku: p.sku,
  name: p.name,
  description: p.description,
  category: p.category,
  priceCents: p.priceCents,
  currency: p.currency,
  createdAt: p.createdAt,
});

/** Thrown by a store when another product already has the SKU. */
export class SkuTakenError extends Error {
  constructor(readonly sku: string) {
    super(`SKU ${sku} is taken`);
  }
}
