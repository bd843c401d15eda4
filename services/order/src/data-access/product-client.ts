import type { ServiceTokenSigner } from "@shopstream/runtime";
import { z } from "zod";
import { callService, UpstreamError } from "./upstream.js";

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

export type ReservedLine = z.output<typeof reservationSchema>["items"][number];

export type ReservationResult =
  | { kind: "reserved"; items: ReservedLine[] }
  /** A line is short: nothing was reserved. */
  | { kind: "short"; productId: string; available: number | undefined }
  /** A line names a product that no longer exists: nothing was reserved. */
  | { kind: "unknown-product"; productId: string }
  /** This order id's reservation was released: nothing is held, and it cannot be reserved again. */
  | { kind: "released" };

export interface StockReserver {
  /**
   * Reserves every line or none, idempotent by order id. Throws UpstreamError when the
   * outcome is unknown (network, timeout, 5xx): the caller must then release.
   */
  reserve(
    orderId: string,
    items: { productId: string; quantity: number }[],
    ctx: { requestId?: string },
  ): Promise<ReservationResult>;
  /** Releases the order's reservation; idempotent. */
  release(orderId: string, ctx: { requestId?: string }): Promise<boolean>;
}

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
