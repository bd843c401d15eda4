import { problem, type ServiceApi, uuidParam } from "@shopstream/runtime";
import { z } from "zod";
import { addItemSchema, setQuantitySchema } from "./schemas.js";

/** The cart, priced live from the catalog (`CartView`). */
export const cartSchema = z.object({
  items: z.array(
    z.object({
      productId: z.string(),
      name: z.string(),
      unitPriceCents: z.number().int().min(0),
      currency: z.string(),
      quantity: z.number().int().min(1),
      lineTotalCents: z.number().int().min(0),
      stock: z.number().int().min(0),
      imageUrl: z.string().nullable(),
      available: z.boolean().describe("False when the product is gone: shown, not counted or orderable"),
    }),
  ),
  totalCents: z.number().int().min(0),
  currency: z.string(),
});

const productParams = z.object({ productId: uuidParam });
const jsonOnly = problem("The body is not application/json");
const unavailable = problem("The catalog cannot be reached right now");
const cannotHold = problem("Not enough stock, too many lines or units, or another currency");

export const cartApi: ServiceApi = {
  service: "cart",
  description: "The signed-in user's cart, priced live from the catalog",
  schemas: { Cart: cartSchema },
  operations: [
    {
      method: "get",
      path: "/cart",
      operationId: "getCart",
      summary: "The cart",
      tag: "cart",
      access: "user",
      responses: { 200: { description: "The cart", schema: cartSchema }, 503: unavailable },
    },
    {
      method: "post",
      path: "/cart/items",
      operationId: "addCartItem",
      summary: "Add units of a product",
      tag: "cart",
      access: "user",
      body: { schema: addItemSchema, required: true },
      responses: {
        200: { description: "More units on an existing line", schema: cartSchema },
        201: { description: "A new line", schema: cartSchema },
        404: problem("There is no such product"),
        409: cannotHold,
        415: jsonOnly,
        503: unavailable,
      },
    },
    {
      method: "patch",
      path: "/cart/items/:productId",
      operationId: "setCartItemQuantity",
      summary: "Set a line's quantity",
      tag: "cart",
      access: "user",
      params: productParams,
      body: { schema: setQuantitySchema, required: true },
      responses: {
        200: { description: "The cart", schema: cartSchema },
        404: problem("The product is not in the cart"),
        409: cannotHold,
        415: jsonOnly,
        503: unavailable,
      },
    },
    {
      method: "delete",
      path: "/cart/items/:productId",
      operationId: "removeCartItem",
      summary: "Remove a line",
      tag: "cart",
      access: "user",
      params: productParams,
      responses: {
        200: { description: "The cart", schema: cartSchema },
        404: problem("The product is not in the cart"),
        503: unavailable,
      },
    },
    {
      method: "delete",
      path: "/cart",
      operationId: "clearCart",
      summary: "Empty the cart",
      tag: "cart",
      access: "user",
      responses: { 204: { description: "Emptied" } },
    },
  ],
};
