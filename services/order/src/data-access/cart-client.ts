import { z } from "zod";
import { callService, UpstreamError } from "./upstream.js";

const cartSchema = z.object({
  items: z.array(
    z.object({
      productId: z.string(),
      name: z.string(),
      quantity: z.number().int(),
    }),
  ),
});

export interface CartLine {
  productId: string;
  name: string;
  quantity: number;
}

export interface CartReader {
  /** The user's cart lines; empty when the user has no cart. */
  linesOf(userId: string, ctx: { requestId?: string; authorization?: string }): Promise<CartLine[]>;
}

/** Reads the caller's cart through the cart service's internal API. */
export function cartClient(baseUrl: string, timeoutMs: number): CartReader {
  return {
    async linesOf(userId, ctx) {
      const res = await callService(
        "cart",
        `${baseUrl}/internal/carts/${encodeURIComponent(userId)}`,
        timeoutMs,
        ctx,
      );
      if (res.status === 404) return [];
      if (res.status !== 200) throw new UpstreamError(`cart answered ${res.status}`);
      const parsed = cartSchema.safeParse(res.body);
      if (!parsed.success) throw new UpstreamError("cart answered a body that is not a cart");
      return parsed.data.items.filter((line) => line.quantity > 0);
    },
  };
}
