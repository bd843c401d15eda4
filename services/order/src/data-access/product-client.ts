import type { ServiceTokenSigner } from "@shopstream/runtime";
import { z } from "zod";
import { type StockReserver, UpstreamError } from "../domain/ports.js";
import { callService } from "./upstream.js";

const reservationSchema = z.object({
  orderId: z.string(),
  items: z.array(
    z.object({
      productId: z.string(),
      name: z.string(),
      unitPriceCents: z.number().int().nonnegative(),
      currency: z.string().length(3),
      quantity: z.number().int().positive(),
    }),
  ),
});

/** The product service's internal reservation API (docs/service-contracts.md). */
export function productClient(
  baseUrl: string,
  timeoutMs: number,
  tokens?: ServiceTokenSigner,
): StockReserver {
  return {
    async reserve(orderId, items, ctx) {
      const res = await callService("product", `${baseUrl}/internal/reservations`, timeoutMs, {
        ...ctx,
        body: { orderId, items },
        tokens,
      });
      if (res.status === 200 || res.status === 201) {
        const parsed = reservationSchema.safeParse(res.body);
        if (!parsed.success) throw new UpstreamError("product answered a body that is not a reservation");
        return { kind: "reserved", items: parsed.data.items };
      }
      const productId = typeof res.body?.productId === "string" ? res.body.productId : "";
      if (res.status === 409) {
        const available = typeof res.body?.available === "number" ? res.body.available : undefined;
        return { kind: "short", productId, available };
      }
      if (res.status === 404) return { kind: "unknown-product", productId };
      if (res.status === 410) return { kind: "released" };
      throw new UpstreamError(`product answered ${res.status} to a reservation`);
    },

    async release(orderId, ctx) {
      const res = await callService(
        "product",
        `${baseUrl}/internal/reservations/${encodeURIComponent(orderId)}/release`,
        timeoutMs,
        { ...ctx, method: "POST", body: {}, tokens },
      );
      if (res.status !== 200) throw new UpstreamError(`product answered ${res.status} to a release`);
      return res.body?.released === true;
    },
  };
}
