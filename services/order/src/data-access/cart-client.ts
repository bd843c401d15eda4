import type { ServiceTokenSigner } from "@shopstream/runtime";
import { z } from "zod";
import { type CartReader, UpstreamError } from "../domain/ports.js";
import { callService } from "./upstream.js";

const cartSchema = z.object({
  items: z.array(
    z.object({
      productId: z.string(),
      name: z.string(),
      quantity: z.number().int(),
    }),
  ),
});

/**
 * Bound on the synchronous cart removal after a checkout: it runs on the buyer's request, and the
 * `order.created` consumer empties the cart anyway when it fails.
 */
export const CART_REMOVAL_TIMEOUT_MS = 2000;

/** Reads the caller's cart, and empties it after a checkout, through the cart's internal API. */
export function cartClient(baseUrl: string, timeoutMs: number, tokens?: ServiceTokenSigner): CartReader {
  return {
    async linesOf(userId, ctx) {
      const res = await callService(
        "cart",
        `${baseUrl}/internal/carts/${encodeURIComponent(userId)}`,
        timeoutMs,
        { ...ctx, tokens },
      );
      if (res.status === 404) return [];
      if (res.status !== 200) throw new UpstreamError(`cart answered ${res.status}`);
      const parsed = cartSchema.safeParse(res.body);
      if (!parsed.success) throw new UpstreamError("cart answered a body that is not a cart");
      return parsed.data.items.filter((line) => line.quantity > 0);
    },

    async removeOrdered(userId, orderId, items, ctx) {
      const res = await callService(
        "cart",
        `${baseUrl}/internal/carts/${encodeURIComponent(userId)}/checkouts`,
        Math.min(timeoutMs, CART_REMOVAL_TIMEOUT_MS),
        { ...ctx, method: "POST", body: { orderId, items }, tokens },
      );
      if (res.status !== 200) throw new UpstreamError(`cart answered ${res.status} to a checkout removal`);
      return res.body?.applied === true;
    },
  };
}
