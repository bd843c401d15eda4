import { problem, type ServiceApi, uuidParam } from "@shopstream/runtime";
import { z } from "zod";
import { batchQuerySchema, listQuerySchema, newProductSchema, productPatchSchema } from "./schemas.js";

/** What the catalog answers (`toProductJson`). */
export const productSchema = z.object({
  id: z.uuid(),
  sku: z.string(),
  name: z.string(),
  description: z.string(),
  category: z.string(),
  priceCents: z.number().int().min(0),
  currency: z.string().length(3),
  stock: z.number().int().min(0),
  imageUrl: z.string().nullable().describe("`/api/products/{id}/image`, or null without an image"),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
});

export const productPageSchema = z.object({
  items: z.array(productSchema),
  total: z.number().int().min(0).describe("How many products match, on every page"),
  page: z.number().int().min(1),
  limit: z.number().int().min(1),
});

export const categoriesSchema = z.object({
  items: z.array(z.object({ name: z.string(), count: z.number().int().min(0) })),
});

const idParams = z.object({ id: uuidParam });

/** Catalog reads carry an ETag and may be revalidated (`If-None-Match` answers 304). */
const catalogRead = {
  ETag: { description: "The answer's version, for `If-None-Match`", required: true },
  "Cache-Control": { description: "Shared caches may keep it for a second", required: true },
};
const notModified = { description: "The copy named by `If-None-Match` is current" };
const noProduct = problem("There is no such product");
const jsonOnly = problem("The body is not application/json");
const skuTaken = problem("Another product already has this SKU");

export const productApi: ServiceApi = {
  service: "product",
  description: "The catalog: browsing and search for anyone, changes for admins",
  schemas: { Product: productSchema, ProductPage: productPageSchema, Categories: categoriesSchema },
  operations: [
    {
      method: "get",
      path: "/products",
      operationId: "listProducts",
      summary: "List and search the catalog",
      description:
        "Filters, sort and pagination; `q` searches names and descriptions (full text). An empty value means the filter is not given.",
      tag: "catalog",
      access: "public",
      query: listQuerySchema,
      responses: {
        200: { description: "One page of products", schema: productPageSchema, headers: catalogRead },
        304: notModified,
      },
    },
    {
      method: "get",
      path: "/products/categories",
      operationId: "listCategories",
      summary: "The categories and how many products each has",
      tag: "catalog",
      access: "public",
      responses: {
        200: { description: "Every category", schema: categoriesSchema, headers: catalogRead },
        304: notModified,
      },
    },
    {
      method: "get",
      path: "/products/batch",
      operationId: "getProductsByIds",
      summary: "Several products by id in one read",
      description:
        "Those that do not exist are left out. Current stock, never cached (`Cache-Control: no-store`).",
      tag: "catalog",
      access: "public",
      query: batchQuerySchema,
      responses: {
        200: { description: "The products that exist", schema: z.object({ items: z.array(productSchema) }) },
      },
    },
    {
      method: "get",
      path: "/products/:id",
      operationId: "getProduct",
      summary: "One product",
      tag: "catalog",
      access: "public",
      params: idParams,
      responses: {
        200: { description: "The product", schema: productSchema, headers: catalogRead },
        304: notModified,
        404: noProduct,
      },
    },
    {
      method: "post",
      path: "/products",
      operationId: "createProduct",
      summary: "Add a product (admin)",
      description: "Without a `sku`, a unique one is generated from the category.",
      tag: "catalog",
      access: "admin",
      body: { schema: newProductSchema, required: true },
      responses: {
        201: {
          description: "The new product",
          schema: productSchema,
          headers: { Location: { description: "The product's URL", required: true } },
        },
        409: skuTaken,
        415: jsonOnly,
      },
    },
    {
      method: "patch",
      path: "/products/:id",
      operationId: "updateProduct",
      summary: "Change a product's fields (admin)",
      tag: "catalog",
      access: "admin",
      params: idParams,
      body: { schema: productPatchSchema, required: true },
      responses: {
        200: { description: "The product as changed", schema: productSchema },
        404: noProduct,
        409: skuTaken,
        415: jsonOnly,
      },
    },
    {
      method: "delete",
      path: "/products/:id",
      operationId: "deleteProduct",
      summary: "Remove a product (admin)",
      tag: "catalog",
      access: "admin",
      params: idParams,
      responses: { 204: { description: "Removed" }, 404: noProduct },
    },
    {
      method: "put",
      path: "/products/:id/image",
      operationId: "setProductImage",
      summary: "Upload the product's picture (admin)",
      description: "The bytes of a PNG, JPEG or WebP image, at most 5 MiB; the type is checked on the bytes.",
      tag: "catalog",
      access: "admin",
      params: idParams,
      body: { contentType: "image/*", required: true, description: "The image's bytes" },
      responses: {
        200: { description: "The product, with its `imageUrl`", schema: productSchema },
        404: noProduct,
        415: problem("Not a PNG, JPEG or WebP image, or not the type declared"),
      },
    },
    {
      method: "get",
      path: "/products/:id/image",
      operationId: "getProductImage",
      summary: "The product's picture",
      tag: "catalog",
      access: "public",
      params: idParams,
      responses: {
        200: {
          description: "The image",
          contentType: "image/*",
          schema: z.string().meta({ contentMediaType: "image/*", format: "binary" }),
          headers: { ETag: { description: "The image's SHA-256", required: true } },
        },
        304: notModified,
        404: problem("There is no such product, or it has no image"),
      },
    },
  ],
};
