import { z } from "zod";
import { MAX_QUANTITY } from "../../domain/cart.js";

/** Ids are UUIDs; upper case is accepted and used lower case. */
export const uuid = z.string().trim().toLowerCase().pipe(z.uuid("must be a UUID"));

const quantity = z
  .number("must be a number")
  .int("must be a whole number")
  .min(1, "must be at least 1")
  .max(MAX_QUANTITY, `must be at most ${MAX_QUANTITY}`);

export const addItemSchema = z.strictObject({ productId: uuid, quantity });
export const setQuantitySchema = z.strictObject({ quantity });

/** An order placed from the cart (`POST /internal/carts/:userId/checkouts`, from the order service). */
export const checkoutSchema = z.strictObject({
  orderId: uuid,
  items: z
    .array(z.strictObject({ productId: uuid, quantity: z.number().int().positive() }))
    .min(1)
    .max(500),
});
