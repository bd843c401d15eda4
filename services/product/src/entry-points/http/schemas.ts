import { z } from "zod";
import { PRODUCT_SORTS } from "../../domain/product.js";

/** Ids are UUIDs; upper case is accepted and stored lower case. */
export const uuid = z.string().trim().toLowerCase().pipe(z.uuid("must be a UUID"));

const CURRENCIES = new Set(Intl.supportedValuesOf("currency"));
/** Control characters have no place in a product's one-line fields. */
const ONE_LINE = /^[^\p{Cc}]*$/u;
/** In a description, line breaks and tabs are fine; other control characters are not. */
const MULTI_LINE = /^(?:[^\p{Cc}]|[\t\n\r])*$/u;

export const MAX_PRICE_CENTS = 100_000_000;
export const MAX_STOCK = 1_000_000;

const fields = {
  sku: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "letters, digits, '.', '_' and '-', at most 64"),
  name: z.string().trim().min(1, "must not be empty").max(200).regex(ONE_LINE, "must be one line of text"),
  description: z.string().trim().max(5000).regex(MULTI_LINE, "must be plain text"),
  category: z.string().trim().min(1, "must not be empty").max(60).regex(ONE_LINE, "must be one line of text"),
  priceCents: z
    .number()
    .int("must be a whole number of cents")
    .min(0, "must not be negative")
    .max(MAX_PRICE_CENTS),
  currency: z.string().refine((c) => CURRENCIES.has(c), "must be an ISO 4217 currency code such as EUR"),
  stock: z.number().int("must be a whole number").min(0, "must not be negative").max(MAX_STOCK),
};

export const newProductSchema = z.strictObject({
  /** Optional: the admin page does not ask for one; a unique SKU is generated when absent. */
  sku: fields.sku.optional(),
  name: fields.name,
  description: fields.description.default(""),
  category: fields.category,
  priceCents: fields.priceCents,
  currency: fields.currency.default("EUR"),
  stock: fields.stock.default(0),
});

export const productPatchSchema = z
  .strictObject({
    sku: fields.sku.optional(),
    name: fields.name.optional(),
    description: fields.description.optional(),
    category: fields.category.optional(),
    priceCents: fields.priceCents.optional(),
    currency: fields.currency.optional(),
    stock: fields.stock.optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, {
    message: "send at least one field to change",
    // An unknown field already says what is wrong; "nothing to change" would only confuse.
    when: (payload) => payload.issues.length === 0,
  });

/** Query values arrive as strings; an empty one (`?q=&category=`) means "not given". */
const absentIfEmpty = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,12}$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

export const listQuerySchema = z
  .strictObject({
    q: absentIfEmpty(z.string().max(200, "must be at most 200 characters")),
    category: absentIfEmpty(fields.category),
    minPrice: absentIfEmpty(wholeNumber(0, MAX_PRICE_CENTS)),
    maxPrice: absentIfEmpty(wholeNumber(0, MAX_PRICE_CENTS)),
    sort: absentIfEmpty(z.enum(PRODUCT_SORTS, `must be one of ${PRODUCT_SORTS.join(", ")}`)),
    page: absentIfEmpty(wholeNumber(1, 100_000)),
    limit: absentIfEmpty(wholeNumber(1, 100)),
  })
  .refine((q) => q.minPrice === undefined || q.maxPrice === undefined || q.minPrice <= q.maxPrice, {
    path: ["minPrice"],
    message: "must not be more than maxPrice",
  });

export const reservationSchema = z
  .strictObject({
    orderId: uuid,
    items: z
      .array(
        z.strictObject({
          productId: uuid,
          quantity: z.number().int("must be a whole number").min(1, "must be at least 1").max(10_000),
        }),
      )
      .min(1, "must hold at least one line")
      .max(100, "must hold at most 100 lines"),
  })
  .check((ctx) => {
    const seen = new Set<string>();
    ctx.value.items.forEach((item, i) => {
      if (seen.has(item.productId)) {
        ctx.issues.push({
          code: "custom",
          input: item.productId,
          path: ["items", i, "productId"],
          message: "appears on more than one line; send one line per product",
        });
      }
      seen.add(item.productId);
    });
  });

export const orderIdParams = z.strictObject({ orderId: uuid });

/** Most products one batch read answers: a full cart (MAX_CART_LINES, 50 by default) in one call. */
export const MAX_BATCH_IDS = 100;

/** `?ids=<uuid>,<uuid>,…`: distinct, at most MAX_BATCH_IDS. */
export const batchQuerySchema = z.strictObject({
  ids: z
    .string()
    .transform((v) => v.split(",").filter((id) => id !== ""))
    .pipe(
      z
        .array(uuid)
        .min(1, "must name at least one product")
        .max(MAX_BATCH_IDS, `must name at most ${MAX_BATCH_IDS} products`),
    )
    .transform((ids) => [...new Set(ids)]),
});
